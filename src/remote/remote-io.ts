/**
 * The write discipline every remote implementation follows, so none of them depends on how a
 * particular server behaves beyond the {@link AtomicRemoteBackend} contract:
 *
 * - Reads are idempotent: a failed read is retried a few times.
 * - A write that failed determinately (nothing applied) is retried as the identical request.
 * - A write that failed indeterminately (`IndeterminateRemoteError`, it may have been applied) is
 *   never blindly retried: the object is read back and judged. Every payload carries a unique write
 *   id, so "is the current object mine?" has an exact answer. If the condition still holds, the
 *   identical conditional request is sent again: both copies carry the same condition, so at most
 *   one of them (ours, either way) can ever be applied.
 */
import type {
  AtomicRemoteBackend,
  ConditionalPut,
  ObjectVersion,
  VersionedObject,
} from '../contracts/remote-backend.js';
import {
  IndeterminateRemoteError,
  InvalidArgumentError,
  PreconditionFailedError,
  RemoteError,
} from '../contracts/errors.js';
import { isNotNowStatus } from '../core/http-semantics.js';
import { sleep } from '../core/sleep.js';

/** How often and how patiently transient failures are retried. */
export interface RetryOptions {
  /** Attempts per request, the first included (default 5). */
  readonly attempts?: number;
  /** Delay before the first retry in milliseconds, doubled each time (default 25). */
  readonly delayMs?: number;
}

/** Verdict on an object read back after an indeterminate write. */
export type ReadBackVerdict =
  /** The object (or its history) shows our write: it was applied. */
  | 'ours'
  /** Our write was definitely not applied and can no longer be (the object moved on without it). */
  | 'not-ours'
  /** Cannot tell: the indeterminate error is passed on to the caller. */
  | 'unknown';

/**
 * Whether a failed request may be retried as is. A request the server refused for what it is (a
 * 4xx such as 413, the body over its limit) fails the same way every time.
 */
function isTransient(error: unknown): error is RemoteError {
  if (!(error instanceof RemoteError)) return false;
  if (error.code === 'REMOTE_INDETERMINATE') return true;
  if (error.code !== 'REMOTE_FAILED') return false;
  const status = error.status;
  return status === undefined || status < 400 || isNotNowStatus(status);
}

/**
 * The outcome of a write whose last attempt failed determinately (`last`) after an earlier one
 * failed indeterminately (`inFlight`): that earlier copy may still land, so the write as a whole is
 * indeterminate. The message keeps why the last attempt failed (a 401 still says "credentials").
 */
function stillInFlight(
  key: string,
  inFlight: IndeterminateRemoteError,
  last: unknown,
): IndeterminateRemoteError {
  const why = last instanceof Error ? last.message : String(last);
  return new IndeterminateRemoteError(
    `${key}: the last attempt of this write failed (${why}), but an earlier attempt ` +
      `(${inFlight.message}) may still be applied. Read the object back to find out.`,
    { cause: last, status: last instanceof RemoteError ? last.status : undefined },
  );
}

/** Retry policy bound to one backend: the reads and writes every remote store is made of. */
export class RemoteIo {
  readonly backend: AtomicRemoteBackend;
  readonly #attempts: number;
  readonly #delayMs: number;

  constructor(backend: AtomicRemoteBackend, retry: RetryOptions = {}) {
    const b = backend as Partial<AtomicRemoteBackend> | null;
    if (typeof b?.uploadConditional !== 'function' || typeof b.downloadVersioned !== 'function') {
      throw new InvalidArgumentError(
        'backend',
        'expected an AtomicRemoteBackend (e.g. from connectRemote(), or a MemoryRemoteBackend).',
      );
    }
    this.backend = backend;
    this.#attempts = integerOption(retry?.attempts, 'options.retry.attempts', 5, 1);
    this.#delayMs = integerOption(retry?.delayMs, 'options.retry.delayMs', 25, 0);
  }

  /** Runs an idempotent request, retrying transient failures. */
  async idempotent<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        if (!isTransient(error) || attempt >= this.#attempts) throw error;
        await this.#pause(attempt);
      }
    }
  }

  /** The object with its version, or `null`. */
  read(key: string): Promise<VersionedObject | null> {
    return this.idempotent(() => this.backend.downloadVersioned(key));
  }

  /**
   * Writes `data` under `condition`. Returns the new version.
   *
   * Once an attempt failed indeterminately, that request may still reach the server later — after
   * the read-back found nothing, say, so that the next attempt is refused (412) because of it. From
   * then on a refusal is judged like the indeterminate failure itself (read back, ask `judge`)
   * before it is reported: a write that landed is never reported as not written.
   * @param judge decides, from the object read back after an indeterminate failure, whether this
   * write was applied; it is called only when the condition no longer holds.
   * @throws PreconditionFailedError when the condition fails and this write surely did not apply
   * (or the read-back says 'not-ours'); an IndeterminateRemoteError when the read-back cannot
   * tell (or fails), or when a later attempt failed in any other way after one was indeterminate.
   */
  async writeConditional(
    key: string,
    data: Uint8Array,
    condition: ConditionalPut,
    judge: (current: VersionedObject | null) => ReadBackVerdict | Promise<ReadBackVerdict>,
  ): Promise<ObjectVersion> {
    /** The first indeterminate failure: from then on, one of our copies may land at any time. */
    let inFlight: IndeterminateRemoteError | null = null;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.backend.uploadConditional(key, data, condition);
      } catch (error) {
        const refused = error instanceof PreconditionFailedError;
        if (!(refused && inFlight) && !(error instanceof IndeterminateRemoteError)) {
          if (isTransient(error) && attempt < this.#attempts) {
            await this.#pause(attempt);
            continue;
          }
          // This attempt surely did nothing, but an earlier copy may still land: unknown.
          if (inFlight) throw stillInFlight(key, inFlight, error);
          throw error;
        }
        inFlight ??= error as IndeterminateRemoteError;
        // Even on the last attempt: an applied write must be reported as applied.
        const current = await this.#readBack(key, inFlight);
        const holds = 'ifAbsent' in condition ? current === null : current?.version === condition.ifVersion;
        if (!holds) {
          const verdict = await judge(current);
          if (verdict === 'ours' && current) return current.version;
          if (verdict === 'not-ours') {
            throw new PreconditionFailedError(
              `${key} changed before this write could apply; nothing was written.`,
              { cause: error },
            );
          }
          throw inFlight;
        }
        // Still as before: nothing was applied yet. The identical request carries the same
        // condition, so at most one of the copies can ever be applied.
        if (attempt >= this.#attempts) throw inFlight;
        await this.#pause(attempt);
      }
    }
  }

  /** Reads `key` back after `inFlight`; if even that fails, the outcome stays unknown: `inFlight`. */
  async #readBack(key: string, inFlight: IndeterminateRemoteError): Promise<VersionedObject | null> {
    try {
      return await this.read(key);
    } catch {
      throw inFlight;
    }
  }

  /**
   * Creates an immutable object whose content is fully determined by its key (an index entry, a
   * content-addressed blob, a copy of committed data): an object already there is success.
   */
  async createImmutable(key: string, data: Uint8Array): Promise<void> {
    try {
      await this.writeConditional(key, data, { ifAbsent: true }, (current) => (current ? 'ours' : 'unknown'));
    } catch (error) {
      if (error instanceof PreconditionFailedError) return;
      throw error;
    }
  }

  /** Deletes unconditionally, ignoring failures: for garbage nobody can reach any more. */
  async deleteGarbage(key: string): Promise<void> {
    try {
      await this.backend.delete(key);
    } catch {
      // Harmless leftover: it occupies space only.
    }
  }

  async #pause(attempt: number): Promise<void> {
    const ms = this.#delayMs * 2 ** (attempt - 1);
    if (ms > 0) await sleep(ms);
  }
}

/** A whole-number option of at least `min`, or `fallback` when omitted. */
export function integerOption(value: unknown, argument: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(
      argument,
      `expected a whole number of at least ${min}, got ${String(value)}.`,
    );
  }
  return value;
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the items' order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T, index);
      } catch (error) {
        failed = true; // the others stop taking new items; Promise.all reports this error
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
