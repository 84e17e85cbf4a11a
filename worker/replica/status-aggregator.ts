import type { LiveTransport, ReplicaEvent, ReplicaStatus, SyncResult } from '../../src/contracts/replica.js';
import { serializeError } from '../../src/contracts/errors.js';
import type { ReplicaChannel } from './replica-channel.js';

/** The part of the status the leader decides and broadcasts. */
type SharedStatus = Pick<
  ReplicaStatus,
  'syncing' | 'lastError' | 'lastSyncAt' | 'lastPushed' | 'snapshotError' | 'transport'
>;

/** What a {@link StatusAggregator} reads and tells. */
export interface StatusSources {
  /** Counts the local operations not yet pushed (the queue every tab of the store shares). */
  countPending(): Promise<number>;
  readonly channel: ReplicaChannel;
  isLeader(): boolean;
  /** Tells the main thread. */
  emit(event: ReplicaEvent): void;
}

/**
 * One tab's {@link ReplicaStatus}, put together: the leader's sync status (its scheduler's, when
 * this tab leads; as the leader last broadcast it, when not), the shared pending count and this
 * tab's own `online` and `leader`. Every change reaches the main thread; the leader also
 * broadcasts it, and answers the status request of a tab that opens.
 */
export class StatusAggregator {
  readonly #sources: StatusSources;
  #shared: SharedStatus = {
    syncing: false,
    lastError: null,
    lastSyncAt: null,
    lastPushed: [],
    snapshotError: null,
    transport: 'off',
  };
  #pending = 0;

  constructor(sources: StatusSources) {
    this.#sources = sources;
  }

  /** The status, with the pending count as last counted. */
  current(): ReplicaStatus {
    return {
      online: typeof navigator === 'undefined' ? true : navigator.onLine,
      ...this.#shared,
      pending: this.#pending,
      leader: this.#sources.isLeader(),
    };
  }

  /** The status, with the pending operations counted now. */
  async recount(): Promise<ReplicaStatus> {
    this.#pending = await this.#sources.countPending();
    return this.current();
  }

  /** This tab, the leader, started a sync. */
  syncStarted(): void {
    this.#setShared({ syncing: true });
  }

  /** This tab's sync succeeded. */
  syncSucceeded(result: SyncResult): void {
    this.#setShared({
      syncing: false,
      lastError: null,
      lastSyncAt: Date.now(),
      lastPushed: result.pushedVersionIds,
      // After a failed snapshot the engine tries again on the next sync, so this is the latest word.
      snapshotError: result.snapshotError,
    });
  }

  /** This tab, the leader, watches the remote another way now (its `RemoteWatcher` said). */
  transportChanged(transport: LiveTransport): void {
    if (transport === this.#shared.transport) return;
    this.#shared = { ...this.#shared, transport };
    this.publish();
  }

  /** This tab's sync failed. */
  syncFailed(error: unknown): void {
    this.#setShared({ syncing: false, lastError: serializeError(error) });
  }

  /** The leader broadcast its status: a follower takes it as its own. */
  leaderSaid(status: ReplicaStatus): void {
    if (this.#sources.isLeader()) return;
    const { syncing, lastError, lastSyncAt, pending } = status;
    // A tab running an older build posts no `lastPushed` or `snapshotError`.
    this.#shared = {
      syncing,
      lastError,
      lastSyncAt,
      lastPushed: status.lastPushed ?? [],
      snapshotError: status.snapshotError ?? null,
      // A leader running an older build does not say: it is not known to watch.
      transport: status.transport ?? 'off',
    };
    // The queue is shared: the leader's count after its sync is this tab's too.
    this.#pending = pending;
    this.publish();
  }

  /** A tab that opened asks for the status: the leader answers. */
  asked(): void {
    if (this.#sources.isLeader()) this.#sources.channel.post({ kind: 'status', status: this.current() });
  }

  /**
   * Counts the pending operations again and tells the new count, if it changed (or, with
   * `force`, in any case: the leader's part changed).
   */
  async refreshPending(force = false): Promise<void> {
    const pending = await this.#sources.countPending().catch(() => this.#pending);
    if (!force && pending === this.#pending) return;
    this.#pending = pending;
    this.publish();
  }

  /** Tells the main thread the status; the leader broadcasts it to the other tabs too. */
  publish(): void {
    const status = this.current();
    this.#sources.emit({ type: 'status', status });
    if (status.leader) this.#sources.channel.post({ kind: 'status', status });
  }

  #setShared(change: Partial<SharedStatus>): void {
    this.#shared = { ...this.#shared, ...change };
    void this.refreshPending(true);
  }
}
