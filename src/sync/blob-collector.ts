/**
 * When the leader collects blob garbage: after a successful sync, at most once per interval, one
 * collection at a time. A failed collection is only logged: it frees space, nothing depends on it,
 * and the next one retries.
 */
import { InvalidArgumentError } from '../contracts/errors.js';

/** Default {@link BlobCollector} interval: ten minutes. */
export const BLOB_GARBAGE_INTERVAL_MS = 10 * 60_000;

export class BlobCollector {
  readonly #collect: () => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #last = -Infinity;
  #running: Promise<void> | null = null;

  constructor(collect: () => Promise<unknown>, intervalMs = BLOB_GARBAGE_INTERVAL_MS, now = Date.now) {
    assertBlobGarbageInterval(intervalMs);
    this.#collect = collect;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Called after each successful sync: starts a collection when one is due and none runs. */
  afterSync(): void {
    const now = this.#now();
    if (this.#running || now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#running = this.#collect()
      .then(
        () => undefined,
        (error: unknown) => console.warn('chainsync: blob garbage collection failed', error),
      )
      .finally(() => (this.#running = null));
  }

  /** Resolves once no collection is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}

/** A non-negative whole number of milliseconds (0: collect after every sync). */
export function assertBlobGarbageInterval(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(
      'options.blobGarbageIntervalMs',
      `expected a whole number of milliseconds, 0 or more (0 collects after every sync), got ${String(value)}.`,
    );
  }
}
