import type { ProxyMarked } from 'comlink';
import type { GarbageReport, LeaseId } from '../src/contracts/blob-storage.js';
import type { KvChange } from '../src/contracts/cas-kv.js';
import { InvalidArgumentError, StoreClosedError } from '../src/contracts/errors.js';
import { assertKey } from '../src/core/validate.js';
import {
  openIdbStore,
  type IdbBlobReader,
  type IdbBlobStorage,
  type IdbCasKv,
  type IdbConsensus,
  type IdbStorageAccess,
  type IdbStore,
  together,
} from './idb/index.js';
import { BroadcastKvChangeFeed } from './multitab/change-feed.js';
import { LeaderElection } from './multitab/leader.js';
import { holdPidLock, livePids } from './multitab/pid-lock.js';
import { holdStorePresence, type StorePresence } from './multitab/store-presence.js';
import { ReplicaHost } from './replica/replica-host.js';
import { dispatchBatch, type BatchedCall, type BatchOutcome } from './rpc/call-batch.js';

/** An object the main thread reaches by path through comlink. */
type ByPath<T> = T & ProxyMarked;

/** What {@link Engine.open} reports. */
export interface OpenedStore {
  /** This instance's pid: its Web Lock is held while the instance lives. */
  readonly pid: string;
}

/** A handle on an open blob reader inside the worker. */
export interface ReaderHandle {
  readonly handle: number;
  readonly contentId: string;
  readonly size: number;
}

/** Options of {@link Engine.collectGarbage} that cross the boundary as data. */
export interface RemoteGarbageOptions {
  /** Treat a pid as alive exactly when its Web Lock is held (the browser's liveness). */
  readonly pidLocks?: boolean;
}

/**
 * The engine one worker runs: one named store (every contract on one IndexedDB database), this
 * instance's pid lock, the cross-tab change feed and leader election. Exposed with comlink; the
 * contract objects are reached by path (`engine.kv.put(…)`), the rest through these methods.
 *
 * Its methods are the RPC surface that chainsync's own main-thread client drives, not an API of
 * their own: the API reference leaves it out.
 * @internal
 */
export class Engine {
  #store: IdbStore | null = null;
  #pid: { pid: string; release(): void } | null = null;
  #readers = new Map<number, IdbBlobReader>();
  #nextReader = 1;
  #unsubscribe: (() => void) | null = null;
  #election: LeaderElection | null = null;
  #presence: StorePresence | null = null;
  /** Set when another tab deleted the store's data: every later call fails with it. */
  #deleted: StoreClosedError | null = null;
  /** The store's closing, once begun (a deletion, then the main thread's close(), both close it). */
  #storeClosing: Promise<void> | null = null;

  /** The store's sync replica (worker/replica/), opened on demand by `openReplica`. Reached by path. */
  readonly replica: ByPath<ReplicaHost> = new ReplicaHost(() => this.#require()) as ByPath<ReplicaHost>;

  /** Opens the store `name` (once per worker) and takes this instance's pid lock. */
  async open(name: string): Promise<OpenedStore> {
    assertKey(name, 'name');
    if (this.#store || this.#presence) {
      throw new InvalidArgumentError('name', 'this worker already has a store open.');
    }
    // Held while the store is open: a deletion of its data (deleteReplicaData) waits for it, and
    // this open waits for a deletion under way.
    const presence = await holdStorePresence(name, () => this.#dataDeleted(name));
    this.#presence = presence;
    const pid = crypto.randomUUID();
    const lock = await holdPidLock(pid);
    this.#pid = { pid, release: lock.release };
    this.#store = openIdbStore(name, { pid, feed: new BroadcastKvChangeFeed(name) });
    await this.#store.blobs.adviseOfPid(pid);
    return { pid };
  }

  /**
   * Another tab is deleting the store's data: close for good, so its deletion can proceed and
   * nothing here recreates the database; the replica's main thread is told why.
   */
  #dataDeleted(name: string): void {
    const error = new StoreClosedError(
      `The local data of "${name}" was deleted (deleteReplicaData or deleteLocalData, in this or another tab), so this store was closed; open it again to start over from the remote.`,
    );
    this.#deleted = error;
    this.replica.closeDeleted(error);
    void this.#closeStore();
  }

  // The contract objects are called by path: through `batch` (the calls of one task in one message)
  // or through comlink (`remote.kv.put(…)`); the ProxyMarked type tells comlink's typings so. They
  // are never sent whole.

  get kv(): ByPath<IdbCasKv> {
    return this.#require().kv as ByPath<IdbCasKv>;
  }

  get consensus(): ByPath<IdbConsensus> {
    return this.#require().consensus as ByPath<IdbConsensus>;
  }

  /** The StorageAccess of the store: the main thread runs OptimisticStorageTxn over it. */
  get storage(): ByPath<IdbStorageAccess> {
    return this.#require().storage.access as ByPath<IdbStorageAccess>;
  }

  get blobs(): ByPath<IdbBlobStorage> {
    return this.#require().blobs as ByPath<IdbBlobStorage>;
  }

  /**
   * The calls the main thread issued in one task, sent as one message (worker/rpc/call-batch.ts):
   * run in arrival order, their writes entering group commit together (one transaction for the
   * lot), answered in one reply with each call's own result or error.
   */
  batch(calls: readonly BatchedCall[]): Promise<BatchOutcome[]> {
    return dispatchBatch(this, calls, together);
  }

  /** Forwards every CasKv change (this instance's and other tabs') to `receiver`, one batch per commit. */
  subscribeKv(receiver: (changes: readonly KvChange[]) => void): void {
    this.#unsubscribe?.();
    this.#unsubscribe = this.#require().kv.onChanges((changes) => {
      // A proxied callback answers with a promise; it rejects once the main thread let go.
      Promise.resolve(receiver(changes)).catch(() => this.unsubscribeKv());
    });
  }

  unsubscribeKv(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  async openReader(contentId: string, lease: LeaseId): Promise<ReaderHandle> {
    const reader = await this.#require().blobs.getReader(contentId, lease);
    const handle = this.#nextReader++;
    this.#readers.set(handle, reader);
    return { handle, contentId: reader.contentId, size: reader.size };
  }

  async readerRead(handle: number, offset?: number, length?: number): Promise<Uint8Array> {
    return this.#reader(handle).read(offset, length);
  }

  async readerClose(handle: number): Promise<void> {
    const reader = this.#readers.get(handle);
    this.#readers.delete(handle);
    await reader?.close();
  }

  async collectGarbage(
    options: RemoteGarbageOptions = {},
    isPidAlive?: (pid: string) => boolean | Promise<boolean>,
    isReferenced?: (contentId: string) => boolean | Promise<boolean>,
  ): Promise<GarbageReport> {
    const live = options.pidLocks ? await livePids() : null;
    return this.#require().blobs.collectGarbage({
      isPidAlive: live ? (pid) => live.has(pid) : isPidAlive,
      isReferenced,
    });
  }

  /** Enters the leader election of this store; resolves when this instance leads. */
  async campaign(): Promise<void> {
    this.#election ??= new LeaderElection(this.#require().connection.name);
    await this.#election.whenLeader();
  }

  isLeader(): boolean {
    return this.#election?.isLeader ?? false;
  }

  resign(): void {
    this.#election?.resign();
    this.#election = null;
  }

  /**
   * Closes the store, releases leadership and the pid lock. Resolves once the database connection
   * is closed: the main thread ends the worker after this, which must not leave it open.
   */
  async close(): Promise<void> {
    await this.#closeStore();
    this.#pid?.release();
  }

  /**
   * Everything {@link Engine.close} does but release the pid lock: after a deletion the worker
   * lives on (its main thread still has to hear why, and would take a released pid lock for a
   * death); it is released when the main thread closes the engine.
   */
  #closeStore(): Promise<void> {
    this.replica.close();
    this.resign();
    this.unsubscribeKv();
    this.#readers.clear();
    this.#storeClosing ??= (async () => {
      await this.#store?.close();
      // Last: the database connection is closed, so a deletion waiting for it can begin.
      this.#presence?.release();
    })();
    return this.#storeClosing;
  }

  #require(): IdbStore {
    if (this.#deleted) throw this.#deleted;
    if (!this.#store) throw new StoreClosedError('No store is open in this worker; call open() first.');
    return this.#store;
  }

  #reader(handle: number): IdbBlobReader {
    const reader = this.#readers.get(handle);
    if (!reader) throw new StoreClosedError('This blob reader is closed; call getReader() again.');
    return reader;
  }
}
