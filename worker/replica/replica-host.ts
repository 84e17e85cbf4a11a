import type {
  BlobRef,
  Change,
  JsonValue,
  Properties,
  ReplicaApi,
  ReplicaChangeEvent,
  ReplicaEvent,
  ReplicaInspection,
  ReplicaStatus,
  StoredObject,
  SyncProgress,
  SyncResult,
} from '../../src/contracts/replica.js';
import { transfer } from 'comlink';
import type { ContentId, GarbageReport } from '../../src/contracts/blob-storage.js';
import {
  InvalidArgumentError,
  reviveError,
  serializeError,
  StoreClosedError,
  type SerializedError,
} from '../../src/contracts/errors.js';
import type { Uuid } from '../../src/contracts/storage.js';
import { assertUuid } from '../../src/core/validate.js';
import { Replica } from '../../src/sync/replica.js';
import type { IdbConnection } from '../idb/connection.js';
import type { IdbBlobStorage } from '../idb/idb-blob-storage.js';
import { LeaderElection } from '../multitab/leader.js';
import { assertBlobGarbageInterval, BlobCollector } from '../../src/sync/blob-collector.js';
import { IdbReplicaStore } from '../idb/idb-replica-store.js';
import { ProgressStorage } from '../../src/sync/progress-storage.js';
import { assertRemoteConfig, openRemote, type RemoteConfig } from '../../src/remote/remote-config.js';
import { ReplicaChannel, type ChannelMessage } from './replica-channel.js';
import { assertSchedule, SyncScheduler, type SyncSchedule } from '../../src/core/sync-scheduler.js';
import { WebLockMutex } from './web-lock-mutex.js';
import { Subscribable } from '../../src/core/subscribable.js';

/** Options of {@link ReplicaHost.open}: plain data, as they cross the worker boundary. */
export interface HostedReplicaOptions {
  /** The data set's id, shared by all its replicas (every device and tab). */
  readonly clientId: Uuid;
  /** Where to sync; without it the replica works offline only. */
  readonly remote?: RemoteConfig;
  /** Encrypts everything stored remotely. */
  readonly secret?: string;
  readonly schedule?: SyncSchedule;
  /** Versions fetched per remote read (default 100). */
  readonly pullPageSize?: number;
  /** Most operations per pushed version (default 1000). */
  readonly maxOperationsPerVersion?: number;
  /**
   * The leader collects blob garbage (local blobs nothing references or leases) after a
   * successful sync at most this often, in ms (default 10 minutes; 0: after every sync).
   */
  readonly blobGarbageIntervalMs?: number;
  /** TEST ONLY: fewer PBKDF2 iterations. Never set this in an application. */
  readonly testOnlyPbkdf2Iterations?: number;
}

/** The parts of the worker's store a replica lives in. */
export interface ReplicaHostStore {
  readonly connection: IdbConnection;
  /** The store's blob storage, bound to this worker's pid (its leases die with the worker). */
  readonly blobs: IdbBlobStorage;
}

/** How often a follower repeats a sync request the leader has not answered. */
const RESEND_MS = 10_000;

/** The part of the status the leader decides and broadcasts. */
type SharedStatus = Pick<ReplicaStatus, 'syncing' | 'lastError' | 'lastSyncAt' | 'lastPushed'>;

interface Opened {
  readonly replica: Replica;
  readonly store: IdbReplicaStore;
  readonly channel: ReplicaChannel;
  readonly election: LeaderElection;
  readonly scheduler: SyncScheduler | null;
  readonly progress: ProgressStorage | null;
  readonly detach: () => void;
}

/**
 * The replica of one worker's store, on the store's IndexedDB database. Every tab's worker opens
 * one; they share the data, the pending queue and a cross-tab write lock, and elect one leader
 * (Web Locks) that alone runs the sync loop. Changes (local, other tabs', pulled), the status and
 * sync progress reach the main thread through the listener given to {@link ReplicaHost.open}.
 */
export class ReplicaHost implements ReplicaApi {
  readonly #store: () => ReplicaHostStore;
  #opened: Opened | null = null;
  /** The main thread's listener, given to {@link ReplicaHost.open}. */
  readonly #listeners = new Subscribable<ReplicaEvent>('chainsync: a replica listener threw');
  /** The leader's status as last heard (this tab's own when it leads). */
  #shared: SharedStatus = {
    syncing: false,
    lastError: null,
    lastSyncAt: null,
    lastPushed: [],
  };
  #pending = 0;
  readonly #waiting = new Map<string, { resolve(): void; reject(error: unknown): void }>();

  /** `store` is called once, at {@link ReplicaHost.open} (the store is opened before the replica). */
  constructor(store: () => ReplicaHostStore) {
    this.#store = store;
  }

  /** Opens the replica (once per worker); `listener` receives every {@link ReplicaEvent}. */
  async open(options: HostedReplicaOptions, listener: (event: ReplicaEvent) => void): Promise<ReplicaStatus> {
    if (this.#opened) throw new InvalidArgumentError('options', 'this worker already has a replica open.');
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options', 'expected { clientId, remote?, secret?, schedule? }.');
    }
    assertUuid(options.clientId, 'options.clientId');
    if (options.remote !== undefined) assertRemoteConfig(options.remote);
    if (options.schedule !== undefined) assertSchedule(options.schedule);
    if (options.blobGarbageIntervalMs !== undefined) assertBlobGarbageInterval(options.blobGarbageIntervalMs);
    const { connection, blobs } = this.#store();
    const store = new IdbReplicaStore(connection);
    const remote = options.remote && openRemote(options.remote);
    const progress = remote ? new ProgressStorage(remote.storage, (p) => this.#progress(p)) : null;
    const replica = await Replica.open({
      store,
      storage: progress ?? undefined,
      clientId: options.clientId,
      kv: options.secret !== undefined ? remote?.kv : undefined,
      secret: options.secret,
      pullPageSize: options.pullPageSize,
      maxOperationsPerVersion: options.maxOperationsPerVersion,
      testOnlyPbkdf2Iterations: options.testOnlyPbkdf2Iterations,
      lock: new WebLockMutex(connection.name),
      // Blobs live in the store's own blob storage, leased under this worker's pid, and travel to
      // and from `<prefix>/blobs/` on the remote.
      blobs,
      remoteBlobs: remote?.blobs,
    });
    // Across comlink the listener returns a promise: it rejects if the main thread went away.
    this.#listeners.subscribe((event) => void Promise.resolve(listener(event)).catch(() => undefined));
    const channel = new ReplicaChannel(connection.name, (m) => this.#receive(m));
    const collector = new BlobCollector(() => replica.collectBlobGarbage(), options.blobGarbageIntervalMs);
    const scheduler = progress
      ? new SyncScheduler(
          () => {
            progress.reset();
            return replica.sync();
          },
          {
            started: () => this.#setShared({ syncing: true }),
            succeeded: (result) => {
              this.#setShared({
                syncing: false,
                lastError: null,
                lastSyncAt: Date.now(),
                lastPushed: result.pushedVersionIds,
              });
              collector.afterSync();
            },
            failed: (error) => this.#setShared({ syncing: false, lastError: serializeError(error) }),
          },
          options.schedule,
        )
      : null;
    const unsubscribe = replica.subscribe((event) => this.#changed(event));
    const online = () => {
      scheduler?.online();
      this.#emitStatus();
    };
    const offline = () => this.#emitStatus();
    const scope = globalThis as {
      addEventListener?: typeof addEventListener;
      removeEventListener?: typeof removeEventListener;
    };
    scope.addEventListener?.('online', online);
    scope.addEventListener?.('offline', offline);
    const election = new LeaderElection(`${connection.name}:replica`);
    this.#opened = {
      replica,
      store,
      channel,
      election,
      scheduler,
      progress,
      detach: () => {
        unsubscribe();
        scope.removeEventListener?.('online', online);
        scope.removeEventListener?.('offline', offline);
      },
    };
    this.#pending = await store.countPending();
    void election.whenLeader().then(() => this.#lead());
    channel.post({ kind: 'status-request' });
    return this.#status();
  }

  create(collection: string, id: string, properties?: Record<string, JsonValue>): Promise<void> {
    return this.#require().replica.create(collection, id, properties);
  }

  update(collection: string, id: string, properties: Record<string, JsonValue | undefined>): Promise<void> {
    return this.#require().replica.update(collection, id, properties);
  }

  delete(collection: string, id: string): Promise<boolean> {
    return this.#require().replica.delete(collection, id);
  }

  change(changes: readonly Change[]): Promise<void> {
    return this.#require().replica.change(changes);
  }

  get(collection: string, id: string): Promise<Properties | null> {
    return this.#require().replica.get(collection, id);
  }

  list(collection: string): Promise<StoredObject[]> {
    return this.#require().replica.list(collection);
  }

  /** Collects the local blobs nothing references or leases any more (the leader also does this after syncs). */
  collectBlobGarbage(): Promise<GarbageReport> {
    return this.#require().replica.collectBlobGarbage();
  }

  /** Stores `data` as a blob of the replica; put the returned reference in a property. */
  putBlob(data: Uint8Array, type?: string): Promise<BlobRef> {
    return this.#require().replica.putBlob(data, type);
  }

  /**
   * The bytes of a blob: local, else downloaded (by this tab, whether it leads or not). Its buffer
   * is transferred to the main thread, not copied: `Replica.getBlob` returns a fresh copy per call,
   * which nothing in the worker keeps.
   */
  async getBlob(blob: BlobRef | ContentId): Promise<Uint8Array> {
    const bytes = await this.#require().replica.getBlob(blob);
    // Transfer moves the whole buffer: only when the view spans it (always, for a fresh copy).
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const own = whole && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
    return transfer(own, [own.buffer as ArrayBuffer]);
  }

  /**
   * Syncs now. The leader syncs itself and returns what the sync did; another tab asks the leader
   * and returns `null` once the leader's sync finished (rejecting with its error if it failed).
   */
  async sync(): Promise<SyncResult | null> {
    const opened = this.#require();
    if (!opened.scheduler) {
      throw new InvalidArgumentError(
        'options.remote',
        'this replica was opened without a remote; it cannot sync.',
      );
    }
    if (opened.election.isLeader) return opened.scheduler.syncNow();
    const id = crypto.randomUUID();
    const done = new Promise<void>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    opened.channel.post({ kind: 'sync-request', id });
    // If the leader dies before answering and another tab takes over, that tab never heard the
    // request: ask again now and then (a repeated request costs one more sync, nothing else).
    const again = setInterval(() => this.#opened?.channel.post({ kind: 'sync-request', id }), RESEND_MS);
    try {
      await done;
    } finally {
      clearInterval(again);
    }
    return null;
  }

  /**
   * A read-only look at the replica's place in the chain: its base (last applied version), the
   * push that may be under way, and the first `limit` pending operations. For tools and the demo.
   */
  async inspect(limit = 50): Promise<ReplicaInspection> {
    const { store } = this.#require();
    const [state, pending] = await Promise.all([store.readState(), store.getPending(limit)]);
    return { state, pending };
  }

  async status(): Promise<ReplicaStatus> {
    this.#pending = await this.#require().store.countPending();
    return this.#status();
  }

  /** Closes the replica: leadership passes to another tab; calls waiting on the leader fail. */
  close(): void {
    const opened = this.#opened;
    if (!opened) return;
    this.#opened = null;
    this.#listeners.clear();
    opened.detach();
    opened.scheduler?.stop();
    opened.election.resign();
    opened.channel.close();
    for (const waiter of this.#waiting.values()) {
      waiter.reject(new StoreClosedError('The replica was closed before the sync finished.'));
    }
    this.#waiting.clear();
  }

  #lead(): void {
    const opened = this.#opened;
    if (!opened?.election.isLeader) return;
    opened.scheduler?.start();
    this.#emitStatus();
    // Requests made of the previous leader are served here.
    for (const [id, waiter] of this.#waiting) {
      this.#waiting.delete(id);
      opened.scheduler?.syncNow().then(() => waiter.resolve(), waiter.reject);
    }
  }

  #changed(event: ReplicaChangeEvent<'local' | 'sync'>): void {
    const opened = this.#opened;
    if (!opened) return;
    const { source, objects, dropped, overridden } = event;
    this.#emit({ type: 'change', source, objects, dropped, overridden });
    opened.channel.post({ kind: 'change', source, objects, dropped, overridden });
    if (event.source === 'local') opened.scheduler?.changed();
    void this.#refreshPending();
  }

  #receive(message: ChannelMessage): void {
    const opened = this.#opened;
    if (!opened) return;
    const leader = opened.election.isLeader;
    switch (message.kind) {
      case 'change':
        this.#emit({
          type: 'change',
          source: message.source === 'local' ? 'tab' : 'sync',
          objects: message.objects,
          dropped: message.dropped,
          // A tab running an older build posts no `overridden`.
          overridden: message.overridden ?? [],
        });
        if (message.source === 'local' && leader) opened.scheduler?.changed();
        void this.#refreshPending();
        break;
      case 'status':
        if (!leader) {
          const { syncing, lastError, lastSyncAt, pending } = message.status;
          // A tab running an older build posts no `lastPushed`.
          this.#shared = { syncing, lastError, lastSyncAt, lastPushed: message.status.lastPushed ?? [] };
          // The queue is shared: the leader's count after its sync is this tab's too.
          this.#pending = pending;
          this.#emitStatus();
        }
        break;
      case 'status-request':
        if (leader) opened.channel.post({ kind: 'status', status: this.#status() });
        break;
      case 'progress':
        if (!leader) this.#emit({ type: 'progress', progress: message.progress });
        break;
      case 'sync-request':
        if (leader && !opened.scheduler) {
          const error = new InvalidArgumentError(
            'options.remote',
            'the leader tab opened this replica without a remote; open every tab with the same options.',
          );
          opened.channel.post({ kind: 'synced', id: message.id, error: serializeError(error) });
        } else if (leader && opened.scheduler) {
          opened.scheduler.syncNow().then(
            () => opened.channel.post({ kind: 'synced', id: message.id, error: null }),
            (error: unknown) =>
              opened.channel.post({ kind: 'synced', id: message.id, error: serializeError(error) }),
          );
        }
        break;
      case 'synced': {
        const waiter = this.#waiting.get(message.id);
        this.#waiting.delete(message.id);
        if (message.error) waiter?.reject(reviveError(message.error));
        else waiter?.resolve();
        break;
      }
    }
  }

  #progress(progress: SyncProgress): void {
    this.#emit({ type: 'progress', progress });
    this.#opened?.channel.post({ kind: 'progress', progress });
  }

  #setShared(change: Partial<SharedStatus>): void {
    this.#shared = { ...this.#shared, ...change };
    void this.#refreshPending(true);
  }

  async #refreshPending(force = false): Promise<void> {
    const opened = this.#opened;
    if (!opened) return;
    const pending = await opened.store.countPending().catch(() => this.#pending);
    if (!force && pending === this.#pending) return;
    this.#pending = pending;
    this.#emitStatus();
  }

  #emitStatus(): void {
    const status = this.#status();
    this.#emit({ type: 'status', status });
    if (status.leader) this.#opened?.channel.post({ kind: 'status', status });
  }

  #status(): ReplicaStatus {
    return {
      online: typeof navigator === 'undefined' ? true : navigator.onLine,
      ...this.#shared,
      pending: this.#pending,
      leader: this.#opened?.election.isLeader ?? false,
    };
  }

  #emit(event: ReplicaEvent): void {
    this.#listeners.notify(event);
  }

  #require(): Opened {
    if (!this.#opened)
      throw new StoreClosedError('No replica is open in this worker; call openReplica() first.');
    return this.#opened;
  }
}

export type { ReplicaEvent, ReplicaStatus, SerializedError, SyncProgress };
