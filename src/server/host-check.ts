/**
 * Which names the reference server answers to in `Host`. A web page can make the browser send
 * requests to this machine under the page's own name (DNS rebinding: its name is made to resolve
 * to 127.0.0.1); such requests are same-origin for the page, so CORS does not stop them, but they
 * name the page's host. Refusing names the server does not serve stops them. IP addresses are
 * always served: a page cannot rebind an address.
 */
import { isIP } from 'node:net';
import { HttpError } from './http-error.js';

/** The name in a `Host` value, lower-case, without port, brackets kept (`[::1]`); `null` if garbled. */
function hostName(value: string): string | null {
  const name = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::\d*)?$/i.exec(value.trim())?.[1];
  return name === undefined ? null : name.toLowerCase().replace(/\.$/, '');
}

function isIPLiteral(name: string): boolean {
  return name.startsWith('[') ? isIP(name.slice(1, -1)) === 6 : isIP(name) === 4;
}

/** `localhost` and its subdomains (RFC 6761): browsers resolve them to this machine themselves. */
function isLocalhost(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost');
}

/** True when `entry` of `allowedHosts` covers `name`: equal, or `.domain` for it and its subdomains. */
function covers(entry: string, name: string): boolean {
  return entry.startsWith('.') ? name === entry.slice(1) || name.endsWith(entry) : name === entry;
}

/**
 * The check every request passes first: its `Host` names this server — `localhost`, an IP address,
 * the listen address, or a name of `allowedHosts` — or it gets a 421 saying how to allow the name.
 * A request without `Host` (HTTP/1.0) gets a 400.
 */
export function hostCheck(
  listenHost: string,
  allowedHosts: readonly string[],
): (host: string | undefined) => void {
  const names = [listenHost.toLowerCase(), ...allowedHosts.map((entry) => entry.toLowerCase())];
  return (host) => {
    const name = host === undefined ? null : hostName(host);
    if (name === null) {
      throw new HttpError(
        400,
        'bad_host',
        'Send a Host header naming this server, e.g. Host: 127.0.0.1:8080.',
      );
    }
    if (isIPLiteral(name) || isLocalhost(name) || names.some((entry) => covers(entry, name))) return;
    throw new HttpError(
      421,
      'misdirected_request',
      `This server does not serve the host "${name}". If that is one of its names (e.g. behind a ` +
        `reverse proxy), start it with --allowed-host ${name} (allowedHosts); requests naming other ` +
        'hosts are refused, as a page that rebinds its own name to this machine would send them.',
    );
  };
}

/** Why an `allowedHosts` entry is refused, or `null` when it is a name (`.domain` allowed). */
export function allowedHostProblem(entry: unknown): string | null {
  if (typeof entry !== 'string' || entry.length === 0)
    return 'expected a host name such as sync.example.com.';
  if (isIP(entry) !== 0) return null;
  if (entry.includes(':')) {
    return `write ${JSON.stringify(entry)} without a port (ports are not checked): e.g. sync.example.com.`;
  }
  if (!/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/i.test(entry)) {
    return `${JSON.stringify(entry)} is not a host name: letters, digits, "-", "_" and dots (a leading dot for a domain and its subdomains).`;
  }
  return null;
}

/** For the start-up line: the names served. */
export function describeHosts(listenHost: string, allowedHosts: readonly string[]): string {
  const names = ['localhost', 'IP addresses'];
  if (isIP(listenHost) === 0 && !isLocalhost(listenHost.toLowerCase())) names.push(listenHost);
  return [...names, ...allowedHosts].join(', ');
}
