/**
 * Which web pages may use the reference server (CORS). A request from a page carries `Origin`; one
 * from a page the server does not allow is refused with 403 before it does anything, and no
 * response grants it access.
 *
 * Without a token the default is no page at all: the server would otherwise be open to every site
 * the user visits. With a token the default is any page: a bearer token is no ambient credential —
 * the browser never attaches it by itself — so only a page that knows the token can use the
 * server, and a page that knows it could relay through any backend of its own anyway. A configured
 * list applies with a token too.
 */
import { MAX_OBJECT_BYTES_HEADER } from '../contracts/remote-backend.js';
import { PREFERENCE_APPLIED } from '../core/http-semantics.js';
import { HttpError } from './http-error.js';

/** `'*'`: any page; a set: exactly these origins; a function: those it accepts. */
export type OriginRule = '*' | ReadonlySet<string> | ((origin: string) => boolean);

// Exposed on every response: a page must read the ETag of a write, the challenge of a refusal, the
// body limit and whether a wait for a change was applied (the change signal).
const EXPOSED_HEADERS = ['ETag', 'WWW-Authenticate', MAX_OBJECT_BYTES_HEADER, PREFERENCE_APPLIED].join(', ');

/** The policy's rule when `allowOrigins` is not given. */
export function defaultOriginRule(token: string | undefined): OriginRule {
  return token === undefined ? new Set() : '*';
}

/**
 * The CORS headers of the response to a request whose `Origin` is `origin` (`undefined`: not from
 * a page), or a 403 {@link HttpError} for a page the rule does not allow.
 */
export function corsHeaders(rule: OriginRule, origin: string | undefined): Record<string, string> {
  if (rule === '*')
    return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSED_HEADERS };
  // The answer depends on the Origin: caches must not hand one page's answer to another.
  if (origin === undefined) return { Vary: 'Origin' };
  if (typeof rule === 'function' ? !rule(origin) : !rule.has(origin)) {
    throw new HttpError(
      403,
      'origin_not_allowed',
      `Web pages from ${origin} may not use this server. If that page is yours, start the server with ` +
        `--allow-origin ${origin} (allowOrigins).`,
    );
  }
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': EXPOSED_HEADERS,
    Vary: 'Origin',
  };
}

/** Why an `allowOrigins` entry is refused, or `null` when it is `*` or an http(s) origin. */
export function allowedOriginProblem(entry: unknown): string | null {
  if (entry === '*') return null;
  const example = 'e.g. http://localhost:5173';
  if (typeof entry !== 'string') return `expected origins (${example}) or "*".`;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `${JSON.stringify(entry)} is not an origin: write its scheme, host and port, ${example}.`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${JSON.stringify(entry)} is not an http:// or https:// origin: write its scheme, host and port, ${example}.`;
  }
  if (url.origin !== entry) {
    return `${JSON.stringify(entry)} is not an origin: write it as ${url.origin} (scheme, host and port; no path).`;
  }
  return null;
}

/** For the start-up line: which pages may use the server. */
export function describeOrigins(rule: OriginRule, token: string | undefined): string {
  if (rule === '*') {
    return token === undefined
      ? 'every web page ("*"), and there is no token: any site the user visits can read and write'
      : 'any origin (a page must know the token)';
  }
  if (typeof rule === 'function') return 'those the allowOrigins function accepts';
  return rule.size === 0 ? 'none (add --allow-origin <origin>)' : [...rule].join(', ');
}
