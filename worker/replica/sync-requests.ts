import {
  InvalidArgumentError,
  reviveError,
  serializeError,
  StoreClosedError,
} from '../../src/contracts/errors.js';
import type { SerializedError } from '../../src/contracts/errors.js';
import type { SyncResult } from '../../src/contracts/replica.js';
import type { SyncScheduler } from '../../src/core/sync-scheduler.js';
import type { ReplicaChannel } from './replica-channel.js';

/** How often a follower repeats a sync request the leader has not answered. */
const RESEND_MS = 10_000;

interface Waiter {
  /** `null`: another tab ran the sync (its result stays there); else this tab's own result. */
  resolve(result: SyncResult | null): void;
  reject(error: unknown): void;
}

/**
 * The cross-tab sync request: a tab that does not lead asks the leader to sync (`sync-request`)
 * and waits for its answer (`synced`, with the sync's error if it failed). The leader runs the
 * sync on its scheduler. A tab that becomes the leader runs the syncs it was still waiting for, and
 * answers them with their results: a tab asked to sync before it won the election (a fresh tab on
 * a busy machine, whose lock request is still pending) is the leader by the time its sync runs, so
 * its caller gets what that sync did, as if it had led from the start.
 */
export class SyncRequests {
  readonly #channel: ReplicaChannel;
  readonly #isLeader: () => boolean;
  /** This tab's scheduler; `null` when it was opened without a remote. */
  readonly #scheduler: SyncScheduler | null;
  readonly #waiting = new Map<string, Waiter>();

  constructor(channel: ReplicaChannel, isLeader: () => boolean, scheduler: SyncScheduler | null) {
    this.#channel = channel;
    this.#isLeader = isLeader;
    this.#scheduler = scheduler;
  }

  /**
   * Asks the leader to sync; resolves once its sync finished (with its result when this tab took
   * over and ran it, `null` when another tab did), rejects with the sync's error.
   */
  async askLeader(): Promise<SyncResult | null> {
    const id = crypto.randomUUID();
    const done = new Promise<SyncResult | null>((resolve, reject) =>
      this.#waiting.set(id, { resolve, reject }),
    );
    this.#channel.post({ kind: 'sync-request', id });
    // If the leader dies before answering and another tab takes over, that tab never heard the
    // request: ask again now and then (a repeated request costs one more sync, nothing else).
    const again = setInterval(() => this.#channel.post({ kind: 'sync-request', id }), RESEND_MS);
    try {
      return await done;
    } finally {
      clearInterval(again);
    }
  }

  /** Another tab asked for a sync: the leader runs it and answers; the others stay quiet. */
  serve(id: string): void {
    if (!this.#isLeader()) return;
    if (!this.#scheduler) {
      const error = new InvalidArgumentError(
        'options.remote',
        'the leader tab opened this replica without a remote; open every tab with the same options.',
      );
      this.#channel.post({ kind: 'synced', id, error: serializeError(error) });
      return;
    }
    this.#scheduler.syncNow().then(
      () => this.#channel.post({ kind: 'synced', id, error: null }),
      (error: unknown) => this.#channel.post({ kind: 'synced', id, error: serializeError(error) }),
    );
  }

  /** The leader's answer to a request (this tab's, or another tab's: then nobody here waits). */
  answered(id: string, error: SerializedError | null): void {
    const waiter = this.#waiting.get(id);
    this.#waiting.delete(id);
    if (error) waiter?.reject(reviveError(error));
    else waiter?.resolve(null);
  }

  /** This tab became the leader: it runs the syncs it asked for, and answers them with the results. */
  takeOver(): void {
    for (const [id, waiter] of this.#waiting) {
      this.#waiting.delete(id);
      this.#scheduler?.syncNow().then(waiter.resolve, waiter.reject);
    }
  }

  /** The replica closes: the requests still waiting fail. */
  close(): void {
    for (const waiter of this.#waiting.values()) {
      waiter.reject(new StoreClosedError('The replica was closed before the sync finished.'));
    }
    this.#waiting.clear();
  }
}
