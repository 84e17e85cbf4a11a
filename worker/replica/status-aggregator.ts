import type {
  LiveTransport,
  RemoteUse,
  ReplicaEvent,
  ReplicaStatus,
  StorageUse,
  SyncResult,
} from '../../src/contracts/replica.js';
import { serializeError } from '../../src/contracts/errors.js';
import { sameStorageUse, type StorageEstimator } from '../../src/core/storage-estimate.js';
import { realTimers, type Timers } from '../../src/core/timers.js';
import type { ReplicaChannel } from './replica-channel.js';

/** The part of the status the leader decides and broadcasts. */
type SharedStatus = Pick<
  ReplicaStatus,
  'syncing' | 'lastError' | 'lastSyncAt' | 'lastPushed' | 'snapshotError' | 'transport' | 'remote'
>;

/** What a {@link StatusAggregator} reads and tells. */
export interface StatusSources {
  /** Counts the local operations not yet pushed (the queue every tab of the store shares). */
  countPending(): Promise<number>;
  readonly channel: ReplicaChannel;
  isLeader(): boolean;
  /** Tells the main thread. */
  emit(event: ReplicaEvent): void;
  /** Reads the origin's storage use (`navigator.storage`; `null` where the browser cannot tell). */
  readonly estimateStorage: StorageEstimator;
  /** Spaces the storage readings (default: the platform's timers). */
  readonly timers?: Timers;
}

/**
 * Storage is read again at most once per this many ms: an estimate makes the browser look at its
 * disk, and a burst of writes (or a long pull) would otherwise ask for one per change.
 */
export const STORAGE_REFRESH_MS = 5_000;

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
    remote: null,
  };
  #pending = 0;
  /** This tab's last storage reading (each tab reads its own: the origin's, the same for all). */
  #storage: StorageUse | null = null;
  /** When storage was last read (by {@link StatusAggregator.timers}' clock), or `null` before. */
  #storageReadAt: number | null = null;
  /** A reading is due later (throttled), or running: more changes meanwhile ask for no more. */
  #storageDue = false;
  /** The timer of a reading due later, until it fires or {@link StatusAggregator.stop}. */
  #storageTimer: unknown = null;
  #stopped = false;

  constructor(sources: StatusSources) {
    this.#sources = sources;
  }

  get #timers(): Timers {
    return this.#sources.timers ?? realTimers;
  }

  /** The status, with the pending count as last counted. */
  current(): ReplicaStatus {
    return {
      online: typeof navigator === 'undefined' ? true : navigator.onLine,
      ...this.#shared,
      pending: this.#pending,
      leader: this.#sources.isLeader(),
      storage: this.#storage,
    };
  }

  /**
   * Reads the storage use now (when the replica opens: its first status has it), without telling
   * anyone: the caller returns or publishes the status.
   */
  async measureStorage(): Promise<void> {
    this.#storageReadAt = this.#timers.now();
    this.#storage = await this.#sources.estimateStorage().catch(() => this.#storage);
  }

  /**
   * Something may have changed the storage use (a sync, a local write, another tab's): it is read
   * again, at most once per {@link STORAGE_REFRESH_MS}: at once when the last reading is older,
   * else once that long after it. Never awaited by a write: it only schedules. A reading that
   * differs from the last one is published.
   */
  storageMayHaveChanged(): void {
    if (this.#storageDue || this.#stopped) return;
    this.#storageDue = true;
    const since = this.#storageReadAt === null ? Infinity : this.#timers.now() - this.#storageReadAt;
    const read = () => {
      this.#storageTimer = null;
      void this.#refreshStorage();
    };
    if (since >= STORAGE_REFRESH_MS) read();
    else this.#storageTimer = this.#timers.setTimeout(read, STORAGE_REFRESH_MS - since);
  }

  /** The replica closed: no storage reading is made or told any more. */
  stop(): void {
    this.#stopped = true;
    if (this.#storageTimer !== null) this.#timers.clearTimeout(this.#storageTimer);
    this.#storageTimer = null;
  }

  async #refreshStorage(): Promise<void> {
    const before = this.#storage;
    try {
      await this.measureStorage();
    } finally {
      this.#storageDue = false;
    }
    if (!this.#stopped && !sameStorageUse(before, this.#storage)) this.publish();
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
    this.storageMayHaveChanged();
  }

  /** This tab, the leader, watches the remote another way now (its `RemoteWatcher` said). */
  transportChanged(transport: LiveTransport): void {
    if (transport === this.#shared.transport) return;
    this.#shared = { ...this.#shared, transport };
    this.publish();
  }

  /** This tab, the leader, listed the data set on the server. */
  remoteMeasured(remote: RemoteUse): void {
    this.#setShared({ remote });
  }

  /** This tab's sync failed. */
  syncFailed(error: unknown): void {
    this.#setShared({ syncing: false, lastError: serializeError(error) });
    // Part of a pull may have been stored before it failed (or it failed for lack of space).
    this.storageMayHaveChanged();
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
      remote: status.remote ?? null,
    };
    // The queue is shared: the leader's count after its sync is this tab's too.
    this.#pending = pending;
    this.publish();
    // The leader's sync stored data in the origin this tab reads the storage use of.
    if (!syncing) this.storageMayHaveChanged();
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
