import { RemoteCredentialsError } from '../../contracts/errors.js';
import { realTimers, type Timers } from '../../core/timers.js';

/** When credentials stop working: a `Date`, an ISO 8601 string (as STS and R2 answer) or epoch ms. */
export type Expiration = Date | string | number;

/** Options of {@link RefreshingCredentials}. */
export interface RefreshingCredentialsOptions<T> {
  /** The setting the function was given as, named in errors (`remote.credentials`, `remote.token`). */
  readonly setting: string;
  /** Checks what the function returned; returns an error message, or `null` when it is usable. */
  readonly check: (value: unknown) => string | null;
  /** When `value` expires (`undefined`: until the server refuses it). */
  readonly expiration: (value: T) => Expiration | undefined;
  /**
   * How long before their expiration credentials are replaced, in ms (default 5 minutes, and at
   * most half of their lifetime): a request signed just before the expiry could arrive after it.
   */
  readonly marginMs?: number;
  /** The clock (tests inject one). */
  readonly timers?: Timers;
}

const DEFAULT_MARGIN_MS = 5 * 60_000;

interface Held<T> {
  readonly value: T;
  /** Epoch ms after which the value is replaced before use; `Infinity` without an expiration. */
  readonly renewAt: number;
}

/**
 * Credentials from the app's function, kept until shortly before they expire. Every caller shares
 * one call of the function at a time (a burst of requests, or of refusals, makes one refresh, not
 * a stampede). A failed call is not kept: the next request calls the function again.
 */
export class RefreshingCredentials<T> {
  readonly #provider: () => T | Promise<T>;
  readonly #options: RefreshingCredentialsOptions<T>;
  readonly #timers: Timers;
  #held: Held<T> | null = null;
  #pending: Promise<T> | null = null;

  constructor(provider: () => T | Promise<T>, options: RefreshingCredentialsOptions<T>) {
    this.#provider = provider;
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
  }

  /** The credentials to sign the next request with: the kept ones unless they are about to expire. */
  current(): Promise<T> {
    const held = this.#held;
    if (held !== null && this.#timers.now() < held.renewAt) return Promise.resolve(held.value);
    return this.#refresh();
  }

  /**
   * New credentials after the server refused `stale` as expired. If another request already
   * replaced them, those are returned without calling the function again.
   */
  replace(stale: T): Promise<T> {
    const held = this.#held;
    if (held !== null && held.value !== stale) return this.current();
    this.#held = null;
    return this.#refresh();
  }

  #refresh(): Promise<T> {
    this.#pending ??= this.#call().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #call(): Promise<T> {
    const { setting } = this.#options;
    let value: T;
    try {
      value = await this.#provider();
    } catch (cause) {
      throw new RemoteCredentialsError(
        setting,
        `the credentials function failed (${cause instanceof Error ? cause.message : String(cause)}), so the request was not sent and nothing was written. ` +
          'Fix the function or the service it asks; the next sync calls it again.',
        { cause },
      );
    }
    const problem = this.#options.check(value);
    if (problem !== null) {
      throw new RemoteCredentialsError(
        setting,
        `the credentials function returned ${problem}, so the request was not sent and nothing was written.`,
      );
    }
    const expiration = this.#options.expiration(value);
    const now = this.#timers.now();
    let renewAt = Infinity;
    if (expiration !== undefined) {
      const expiresAt = expiration instanceof Date ? expiration.getTime() : new Date(expiration).getTime();
      if (!Number.isFinite(expiresAt)) {
        throw new RemoteCredentialsError(
          setting,
          `the credentials function returned an expiration that is not a date (${String(expiration)}): return a Date, an ISO 8601 string or epoch milliseconds, or leave it out.`,
        );
      }
      const margin = Math.min(
        this.#options.marginMs ?? DEFAULT_MARGIN_MS,
        Math.max(0, (expiresAt - now) / 2),
      );
      renewAt = expiresAt - margin;
    }
    this.#held = { value, renewAt };
    return value;
  }
}
