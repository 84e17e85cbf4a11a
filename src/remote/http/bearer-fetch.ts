import type { Timers } from '../../core/timers.js';
import { RefreshingCredentials, type Expiration } from './credentials.js';
import type { FetchLike } from './options.js';

/** A bearer token that expires, as a token function may return it. */
export interface BearerToken {
  readonly token: string;
  /** When it stops working; it is replaced shortly before. Left out: when the server answers 401. */
  readonly expiration?: Expiration;
}

/** A function returning a fresh bearer token: the token itself, or `{ token, expiration }`. */
export type BearerTokenProvider = () => string | BearerToken | Promise<string | BearerToken>;

/** Options of {@link bearerFetch}. */
export interface BearerFetchOptions {
  /** The `fetch` that sends (default: the global one, looked up per request). */
  readonly fetch?: FetchLike;
  /** How long before its expiration a token is replaced, in ms (default 5 minutes). */
  readonly marginMs?: number;
  /** The clock the expirations are compared with (tests inject one). */
  readonly timers?: Timers;
  /** The setting named when the function fails (default `remote.token`). */
  readonly setting?: string;
}

/**
 * A `fetch` that sends `Authorization: Bearer <token>` with the token from `provider`, kept until
 * shortly before its expiration. On a 401 the token is replaced and the request sent once more:
 * a 401 says the server refused the request's credentials (RFC 9110 §15.5.2) and so did not act on
 * it, which makes resending even a compare-and-swap its first application, not a blind repeat. A
 * resent request's own failure is classified by the transport as usual.
 */
export function bearerFetch(provider: BearerTokenProvider, options: BearerFetchOptions = {}): FetchLike {
  const source = new RefreshingCredentials<BearerToken>(
    async () => {
      const value = await provider();
      return typeof value === 'string' ? { token: value } : value;
    },
    {
      setting: options.setting ?? 'remote.token',
      check: (value) => {
        const token = (value as Partial<BearerToken> | null)?.token;
        return typeof token === 'string' && token !== '' && !/[\r\n]/.test(token)
          ? null
          : 'no token (expected a non-empty string on one line, or { token, expiration? })';
      },
      expiration: (value) => value.expiration,
      marginMs: options.marginMs,
      timers: options.timers,
    },
  );
  const send = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
  const signed = (init: RequestInit, token: BearerToken): RequestInit => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${token.token}`);
    return { ...init, headers };
  };
  return async (url, init) => {
    const used = await source.current();
    const response = await send(url, signed(init, used));
    if (response.status !== 401) return response;
    // The refusal is dropped unread: left open, its body would hold the connection.
    await response.body?.cancel();
    const fresh = await source.replace(used);
    return send(url, signed(init, fresh));
  };
}
