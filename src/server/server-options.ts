/** The options of `startServer`, and their validation into the settings the server runs with. */
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../contracts/errors.js';
import { allowedHostProblem } from './host-check.js';
import { allowedOriginProblem, defaultOriginRule, type OriginRule } from './origin-policy.js';

/** Default body limit: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Default connection limits. A client has 20 s to send a request's headers and 5 min for the
 * whole request (a 64 MiB body at 2 Mbit/s); a keep-alive connection is closed after 5 s without
 * a request; at most 1,000 connections are open at once (well under the usual limit of 1,024
 * file descriptors per process, which each connection and each upload's temporary file hold).
 */
export const DEFAULT_CONNECTION_LIMITS = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 5_000,
  maxConnections: 1_000,
} as const;

/** Options of `startServer`. */
export interface ServerOptions {
  /**
   * Directory holding the objects; created if missing. One server per directory: a second one is
   * refused, also from another process, container or machine (see `chainsync-server --help`).
   */
  readonly dir: string;
  /** TCP port; 0 picks a free one (read it from `RunningServer.url`). */
  readonly port: number;
  /** Address to listen on. Default `127.0.0.1` (loopback only); `0.0.0.0` or `::` to expose it. */
  readonly host?: string;
  /** When set, requests need `Authorization: Bearer <token>` (CORS preflights excepted). */
  readonly token?: string;
  /** Largest accepted object, in bytes. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  readonly maxBodyBytes?: number;
  /**
   * Names the server answers to in `Host`, besides `localhost` (and `*.localhost`), IP addresses
   * and the listen address: e.g. the name a reverse proxy forwards. `.example.com` stands for
   * example.com and its subdomains. Requests naming any other host get 421: that is how a page
   * that rebinds its own name to this machine (DNS rebinding) reaches it.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Web pages that may use the server: their origins (`http://localhost:5173`), `'*'` for any page,
   * or a function deciding per origin. Requests from other pages get 403. Default: none without a
   * token (any site the user visits could otherwise read and write the objects), any with a token
   * (a page must know it; the browser never sends it by itself).
   */
  readonly allowOrigins?: readonly string[] | ((origin: string) => boolean);
  /**
   * How long a client has to send a request's headers, from the moment it connects or its
   * previous response ended; a connection that has not sent them by then gets 408 and is closed
   * (slow-header and silent connections: slowloris). Default 20 s.
   */
  readonly headersTimeoutMs?: number;
  /**
   * How long a client has to send a whole request, body included; a slower one gets 408 (if the
   * response has not begun), its connection is closed and its partial upload discarded. At least
   * `headersTimeoutMs`. Default 5 min.
   */
  readonly requestTimeoutMs?: number;
  /** How long a keep-alive connection may stay open without a request after a response. Default 5 s. */
  readonly idleTimeoutMs?: number;
  /**
   * Most connections open at once; one more is answered 503 (with `Retry-After`) and closed, so
   * that many open connections cannot exhaust the server's file descriptors. Default 1,000.
   */
  readonly maxConnections?: number;
  /**
   * Whether a conditional GET with `Prefer: wait=N` is held until its object changes (the change
   * signal, docs/live-sync.md). Default `true`. `false` makes the server answer such a GET at once,
   * without `Preference-Applied`, as a server that does not know the preference would: replicas
   * then poll. For measuring or testing the fallback against the same server.
   */
  readonly changeSignal?: boolean;
}

/** Validated options, defaults applied. */
export interface ServerSettings {
  readonly dir: string;
  readonly port: number;
  readonly host: string;
  readonly token: string | undefined;
  readonly maxBodyBytes: number;
  readonly allowedHosts: readonly string[];
  readonly originRule: OriginRule;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly changeSignal: boolean;
}

function list<T>(value: unknown, argument: string, problemOf: (entry: unknown) => string | null): T[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(argument, 'expected a list.');
  for (const entry of value) {
    const problem = problemOf(entry);
    if (problem !== null) throw new InvalidArgumentError(argument, problem);
  }
  return value as T[];
}

function originRuleOf(allowOrigins: ServerOptions['allowOrigins'], token: string | undefined): OriginRule {
  if (allowOrigins === undefined) return defaultOriginRule(token);
  if (typeof allowOrigins === 'function') return allowOrigins;
  const origins = list<string>(allowOrigins, 'allowOrigins', allowedOriginProblem);
  return origins.includes('*') ? '*' : new Set(origins);
}

type LimitName = keyof typeof DEFAULT_CONNECTION_LIMITS;

/** A connection limit of `options`, or its default: a positive integer. */
function limit(options: ServerOptions, name: LimitName): number {
  const value = options[name] ?? DEFAULT_CONNECTION_LIMITS[name];
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(name, `expected a positive integer, got ${String(value)}.`);
  }
  return value;
}

function connectionLimits(options: ServerOptions): Record<LimitName, number> {
  const limits = {
    headersTimeoutMs: limit(options, 'headersTimeoutMs'),
    requestTimeoutMs: limit(options, 'requestTimeoutMs'),
    idleTimeoutMs: limit(options, 'idleTimeoutMs'),
    maxConnections: limit(options, 'maxConnections'),
  };
  // The headers are part of the request: Node refuses a headers timeout longer than the request's.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new InvalidArgumentError(
      'headersTimeoutMs',
      `${limits.headersTimeoutMs} must not exceed requestTimeoutMs ` +
        `(${limits.requestTimeoutMs}): the headers are part of the request. Raise requestTimeoutMs or lower headersTimeoutMs.`,
    );
  }
  return limits;
}

/**
 * Validates `options` and applies the defaults.
 * @throws InvalidArgumentError naming the option and what to write instead.
 */
export function resolveServerOptions(options: ServerOptions): ServerSettings {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected { dir, port, host?, token?, … }.');
  }
  const { dir, port, host = '127.0.0.1', token, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options;
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new InvalidArgumentError('dir', 'expected the path of the directory that holds the objects.');
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(
      'port',
      `expected an integer from 0 to 65535 (0: any free port), got ${port}.`,
    );
  }
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidArgumentError('host', 'expected an address to listen on, e.g. 127.0.0.1.');
  }
  if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))) {
    throw new InvalidArgumentError('token', 'expected a non-empty string of visible ASCII characters.');
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new InvalidArgumentError('maxBodyBytes', `expected a non-negative integer, got ${maxBodyBytes}.`);
  }
  const { changeSignal = true } = options;
  if (typeof changeSignal !== 'boolean') {
    throw new InvalidArgumentError(
      'changeSignal',
      `expected true (hold Prefer: wait requests) or false (answer them at once), got ${JSON.stringify(changeSignal)}.`,
    );
  }
  return {
    dir: resolve(dir),
    port,
    host,
    token,
    maxBodyBytes,
    allowedHosts: list<string>(options.allowedHosts ?? [], 'allowedHosts', allowedHostProblem),
    originRule: originRuleOf(options.allowOrigins, token),
    ...connectionLimits(options),
    changeSignal,
  };
}
