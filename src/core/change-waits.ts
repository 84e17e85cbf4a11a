/**
 * The change signal's held requests (docs/live-sync.md), for every server that has the signal (the
 * reference server, the msw object server): a conditional GET with `Prefer: wait=N` whose answer
 * would be 304 (or 404) waits here until its object is written or deleted. Each held request keeps
 * a connection open, so at most {@link ChangeWaits.maxHeld} wait at once (the rest are answered at
 * once, as a plain conditional GET: those clients poll), and {@link ChangeWaits.close} releases
 * them all when the server shuts down. A request is held at most `MAX_WAIT_SECONDS`.
 */
import { MAX_WAIT_SECONDS } from './http-semantics.js';

/** Why a held request was let go. */
export type WaitEnd = 'changed' | 'timeout' | 'closing' | 'gone';

/** Held requests, per object key. */
export class ChangeWaits {
  /** The most requests held at once. */
  readonly maxHeld: number;
  readonly #waiting = new Map<string, Set<(end: WaitEnd) => void>>();
  #held = 0;
  #closing = false;

  /** `maxConnections`: the server's connection cap, of which held requests may take half. */
  constructor(maxConnections: number) {
    this.maxHeld = Math.max(1, Math.floor(maxConnections / 2));
  }

  /** Requests held right now. */
  get held(): number {
    return this.#held;
  }

  /**
   * Holds a request on `key` until `currentETag()` differs from `seenETag` (checked at once, so a
   * write that landed since the caller read the object is not waited for), `seconds` pass, the
   * server closes, or `gone` fires (the client went away). Returns `null`, holding nothing, when
   * the cap is reached or the server is closing: answer at once, without `Preference-Applied`.
   */
  hold(
    key: string,
    seenETag: string | null,
    currentETag: () => string | null,
    seconds: number,
    gone: (release: () => void) => void,
  ): Promise<WaitEnd> | null {
    if (this.#closing || this.#held >= this.maxHeld) return null;
    if (currentETag() !== seenETag) return Promise.resolve('changed');
    this.#held++;
    return new Promise<WaitEnd>((resolve) => {
      let waiters = this.#waiting.get(key);
      if (!waiters) this.#waiting.set(key, (waiters = new Set()));
      const timer = setTimeout(() => end('timeout'), Math.min(seconds, MAX_WAIT_SECONDS) * 1000);
      const end = (why: WaitEnd): void => {
        if (!waiters.delete(end)) return; // ended already
        if (waiters.size === 0 && this.#waiting.get(key) === waiters) this.#waiting.delete(key);
        clearTimeout(timer);
        this.#held--;
        resolve(why);
      };
      waiters.add(end);
      gone(() => end('gone'));
    });
  }

  /** `key` was written or deleted: its held requests answer now. */
  changed(key: string): void {
    for (const end of [...(this.#waiting.get(key) ?? [])]) end('changed');
  }

  /** The server is shutting down: every held request answers now, and no new one is held. */
  close(): void {
    this.#closing = true;
    this.releaseAll();
  }

  /** Every held request answers now (a test server forgetting its objects); later ones are held. */
  releaseAll(): void {
    for (const waiters of [...this.#waiting.values()]) for (const end of [...waiters]) end('closing');
  }
}
