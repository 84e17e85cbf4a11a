/** The start-up line that says how the reference server is exposed, and to whom. */
import { isIP } from 'node:net';
import { describeHosts } from './host-check.js';
import { describeOrigins } from './origin-policy.js';
import type { ServerSettings } from './server-options.js';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function describeListen(host: string): string {
  if (isLoopback(host)) return `listening on ${host} (loopback only: this machine)`;
  if (host === '0.0.0.0' || host === '::') return `listening on ${host} (every network interface)`;
  return `listening on ${host} (reachable from its network)`;
}

/** One line: where it listens, who may use it, which `Host` names and which web pages it serves. */
export function describeExposure(settings: ServerSettings): string {
  const access =
    settings.token === undefined
      ? 'no token: any program that reaches it can read and write'
      : 'bearer token required';
  return [
    describeListen(settings.host),
    access,
    `Host names served: ${describeHosts(settings.host, settings.allowedHosts)}`,
    `cross-origin web pages: ${describeOrigins(settings.originRule, settings.token)}`,
  ].join('; ');
}
