import type {
  BlobRef,
  Change,
  JsonValue,
  Operation,
  Properties,
  ReplicaApi,
  ReplicaEvent,
  ReplicaInspection,
  ReplicaStatus,
  StoredObject,
  SyncProgress,
  SyncResult,
} from '../../src/contracts/replica.js';
import { transfer } from 'comlink';
import type { ContentId, GarbageReport } from '../../src/contracts/blob-storage.js';
import type { ObjectVersion } from '../../src/contracts/remote-backend.js';
import { InvalidArgumentError, StoreClosedError, type SerializedError } from '../../src/contracts/errors.js';
import { RemoteWatcher, type PageState } from '../../src/core/remote-watcher.js';
import { SyncScheduler } from '../../src/core/sync-scheduler.js';
import { openRemote } from '../../src/remote/remote-config.js';
import { estimateStorage } from '../../src/core/storage-estimate.js';
import { joinRemoteFunction, type RemoteFunction } from '../../src/remote/remote-functions.js';
import { BlobCollector } from '../../src/sync/blob-collector.js';
import { Replica } from '../../src/sync/replica.js';
import { IdbReplicaStore } from '../idb/idb-replica-store.js';
import { IdbProbeCacheStore } from '../idb/idb-probe-cache.js';
import { IdbBackgroundSync } from '../idb/idb-background-sync.js';
import { recordBackgroundSync } from './background-sync.js';
import type { IdbConnection } from '../idb/connection.js';
import type { IdbBlobStorage } from '../idb/idb-blob-storage.js';
import { LeaderElection } from '../multitab/leader.js';
import { EventRelay } from './event-relay.js';
import { MainThreadEvents } from './main-thread-events.js';
import { assertPageState, PageStates, UNSEEN } from './page-states.js';
import { assertHostedReplicaOptions, type HostedReplicaOptions } from './hosted-replica-options.js';
import { RemoteUseReader } from './remote-use-reader.js';
import { ReplicaChannel, type ChannelMessage } from './replica-channel.js';
import { StatusAggregator } from './status-aggregator.js';
import { SyncRequests } from './sync-requests.js';
import { WebLockMutex } from './web-lock-mutex.js';

/** The parts of the worker's store a replica lives in. */
export interface ReplicaHostStore {
  readonly connection: IdbConnection;
  /** The store's blob storage, bound to this worker's pid (its leases die with the worker). */
  readonly blobs: IdbBlobStorage;
}

/**
 * Told to the main thread when the worker closes the replica on its own: another tab (or this one)
 * deleted the store's local data. `message` is the STORE_CLOSED error later calls fail with.
 */
export interface ReplicaClosedEvent {
  readonly type: 'closed';
  readonly reason: 'deleted';
  readonly message: string;
}

/** Everything the host tells the main thread's listener. */
export type HostedReplicaEvent = ReplicaEvent | ReplicaClosedEvent;

/** The parts of one opened replica. */
interface Opened {
  readonly replica: Replica;
  readonly store: IdbReplicaStore;
  readonly channel: ReplicaChannel;
  readonly election: LeaderElection;
  /** `null` when opened without a remote. */
  readonly scheduler: SyncScheduler | null;
  /** Tells the leader's scheduler when the chain moved (`null` without a remote). */
  readonly watcher: RemoteWatcher | null;
  /** This tab's id among the store's tabs, and their page states (the leader's watcher polls by them). */
  readonly tab: string;
  readonly pages: PageStates;
  readonly status: StatusAggregator;
  readonly requests: SyncRequests;
  readonly relay: EventRelay;
  /** Collects blob garbage after syncs, at most every `blobGarbageIntervalMs`. */
  readonly collector: BlobCollector;
  /** Stops listening to the replica and the global scope, and drops the main thread's listener. */
  readonly detach: () => void;
  /** What the main thread's listener is told (until detached). */
  readonly events: MainThreadEvents<HostedReplicaEvent>;
}

/**
 * The replica of one worker's store, on the store's IndexedDB database. Every tab's worker opens
 * one; they share the data, the pending queue and a cross-tab write lock, and elect one leader
 * (Web Locks) that alone runs the sync loop. Changes (local, other tabs', pulled), the status and
 * sync progress reach the main thread through the listener given to {@link ReplicaHost.open}.
 *
 * This class wires the parts together and forwards the calls; the parts each do one job:
 * {@link EventRelay} (changes and progress), {@link StatusAggregator} (the status every tab shows)
 * and {@link SyncRequests} (a follower's sync run by the leader).
 */
export class ReplicaHost implements ReplicaApi {
  readonly #store: () => ReplicaHostStore;
  #opened: Opened | null = null;
  /** What this tab's main thread last said of its page (answered to a new leader's request). */
  #ownPage: PageState | null = null;
  /** Why later calls fail, once the replica was closed because its data was deleted. */
  #closedBy: StoreClosedError | null = null;

  /** Opened by {@link ReplicaHost.syncInBackground}, from the background-sync record. */
  #inBackground = false;

  /** `store` is called once, at {@link ReplicaHost.open} (the store is opened before the replica). */
  constructor(store: () => ReplicaHostStore) {
    this.#store = store;
  }

  /**
   * Opens the replica (once per worker); `listener` receives every {@link ReplicaEvent}.
   * `remoteFunction` is the remote's credentials or token function, kept on the main thread (a
   * function cannot be cloned into the worker) and called back there.
   */
  async open(
    options: HostedReplicaOptions,
    listener: (event: HostedReplicaEvent) => void,
    remoteFunction?: RemoteFunction,
  ): Promise<ReplicaStatus> {
    if (this.#closedBy) throw this.#closedBy;
    if (this.#opened) throw new InvalidArgumentError('options', 'this worker already has a replica open.');
    if (remoteFunction !== undefined && typeof options === 'object' && options !== null && options.remote) {
      options = { ...options, remote: joinRemoteFunction(options.remote, remoteFunction) };
    }
    assertHostedReplicaOptions(options);
    const { connection, blobs } = this.#store();
    const background = new IdbBackgroundSync(connection);
    // A background run opens from the record: it leaves the record as the app's pages set it.
    const keepKey = this.#inBackground
      ? false
      : await recordBackgroundSync(background, options, remoteFunction);
    const store = new IdbReplicaStore(connection);
    // A passed probe is remembered in the store's database: the next page load sends no probe.
    const remote =
      options.remote && openRemote(options.remote, { probeCache: new IdbProbeCacheStore(connection) });
    const replica = await Replica.open({
      store,
      storage: remote?.storage,
      // Relayed once the replica is open (nothing is told of reads made while opening).
      onProgress: (p) => this.#opened?.relay.progress(p),
      clientId: options.clientId,
      kv: options.secret !== undefined ? remote?.kv : undefined,
      secret: options.secret,
      onEncryptionKey: keepKey
        ? (key) => void background.keep(key).catch(() => undefined) // the next sync offers it again
        : undefined,
      pullPageSize: options.pullPageSize,
      maxOperationsPerVersion: options.maxOperationsPerVersion,
      maxDecodedBytes: options.maxDecodedBytes,
      maxVersionBytes: options.maxVersionBytes,
      snapshotPolicy: options.snapshotPolicy,
      compaction: options.compaction,
      testOnlyPbkdf2Iterations: options.testOnlyPbkdf2Iterations,
      lock: new WebLockMutex(connection.name),
      // Blobs live in the store's own blob storage, leased under this worker's pid, and travel to
      // and from `<prefix>/blobs/` on the remote.
      blobs,
      remoteBlobs: remote?.blobs,
    });
    const mainThread = new MainThreadEvents(listener);
    const emit = (event: HostedReplicaEvent) => mainThread.send(event);
    const channel = new ReplicaChannel(connection.name, (m) => this.#receive(m));
    const election = new LeaderElection(`${connection.name}:replica`);
    const isLeader = () => election.isLeader;
    const status = new StatusAggregator({
      countPending: () => store.countPending(),
      channel,
      isLeader,
      emit,
      estimateStorage,
    });
    const collector = new BlobCollector(() => replica.collectBlobGarbage(), options.blobGarbageIntervalMs);
    // With compaction on, the leader shows what the data set holds on the server.
    const remoteUse =
      remote && options.compaction
        ? new RemoteUseReader({
            usage: () => remote.usage(options.clientId),
            headHeight: async () => (await store.readState()).baseHeight,
            measured: (use) => {
              if (this.#opened?.replica === replica) status.remoteMeasured(use);
            },
          })
        : null;
    /** Pointer versions seen up to the last successful sync (the watcher's own-push check). */
    let syncedHeads: ReadonlySet<ObjectVersion | null> = new Set();
    const scheduler = remote
      ? new SyncScheduler(
          () => replica.sync(),
          {
            started: () => status.syncStarted(),
            succeeded: (result) => {
              syncedHeads = new Set(remote?.headsSeen(options.clientId));
              status.syncSucceeded(result);
              collector.afterSync();
              remoteUse?.afterSync(result);
            },
            failed: (error) => status.syncFailed(error),
          },
          options.schedule,
        )
      : null;
    const live = options.schedule?.live ?? true;
    const check = live && remote && scheduler ? remote.watchHead(options.clientId) : null;
    // The leader's watcher: a change it sees on the remote syncs at once (docs/live-sync.md).
    const watcher =
      check && scheduler
        ? new RemoteWatcher({
            check,
            // Not a change when the last sync read or wrote that version (its own push).
            onChange: (version) => scheduler.remoteChanged(() => syncedHeads.has(version)),
            // An application that syncs first by hand gets no sync it did not ask for at start.
            changeOnStart: options.schedule?.syncOnStart ?? true,
            // Every tab shows how the leader watches (its status is broadcast).
            onTransport: (transport) => status.transportChanged(transport === 'stopped' ? 'off' : transport),
          })
        : null;
    const relay = new EventRelay({ channel, emit, isLeader, scheduler, status });
    const unsubscribe = replica.subscribe((event) => relay.replicaChanged(event));
    const online = () => {
      scheduler?.online();
      watcher?.online();
      status.publish();
    };
    const offline = () => {
      watcher?.offline();
      status.publish();
    };
    const scope = globalThis as {
      addEventListener?: typeof addEventListener;
      removeEventListener?: typeof removeEventListener;
    };
    scope.addEventListener?.('online', online);
    scope.addEventListener?.('offline', offline);
    this.#opened = {
      replica,
      store,
      channel,
      election,
      scheduler,
      watcher,
      tab: crypto.randomUUID(),
      pages: new PageStates(),
      status,
      requests: new SyncRequests(channel, isLeader, scheduler),
      relay,
      collector,
      events: mainThread,
      detach: () => {
        unsubscribe();
        mainThread.detach();
        scope.removeEventListener?.('online', online);
        scope.removeEventListener?.('offline', offline);
      },
    };
    await Promise.all([status.recount(), status.measureStorage()]);
    void election.whenLeader().then(() => this.#lead());
    channel.post({ kind: 'status-request' });
    return status.current();
  }

  create(collection: string, id: string, properties?: Record<string, JsonValue>): Promise<void> {
    return this.#answer((replica) => replica.create(collection, id, properties));
  }

  update(collection: string, id: string, properties: Record<string, JsonValue | undefined>): Promise<void> {
    return this.#answer((replica) => replica.update(collection, id, properties));
  }

  delete(collection: string, id: string): Promise<boolean> {
    return this.#answer((replica) => replica.delete(collection, id));
  }

  change(changes: readonly Change[]): Promise<void> {
    return this.#answer((replica) => replica.change(changes));
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
   * and returns `null` once the leader's sync finished (rejecting with its error if it failed). A tab
   * that wins the election while it waits runs the sync itself and returns what it did.
   */
  async sync(): Promise<SyncResult | null> {
    const { scheduler, election, requests, events } = this.#require();
    if (!scheduler) {
      throw new InvalidArgumentError(
        'options.remote',
        'this replica was opened without a remote; it cannot sync.',
      );
    }
    // What the sync pulled reaches the listener before the caller hears it is done.
    return events.after(election.isLeader ? scheduler.syncNow() : requests.askLeader());
  }

  /**
   * Discards the named pending operations (the queue is shared by every tab: whichever tab asks),
   * reported as dropped to this tab and, as a change, to the others.
   */
  discardPending(seqs: readonly number[]): Promise<Operation[]> {
    return this.#answer((replica) => replica.discardPending(seqs));
  }

  /**
   * A read-only look at the replica's place in the chain: its base (last applied version) with the
   * ids of the newest versions up to it, the push that may be under way, and the first `limit`
   * pending operations. Local reads only (the demo's chain view draws from it). For tools and the demo.
   */
  async inspect(limit = 50): Promise<ReplicaInspection> {
    const { store } = this.#require();
    const [state, pending] = await Promise.all([store.readState(), store.getPending(limit)]);
    return { state, pending };
  }

  async status(): Promise<ReplicaStatus> {
    return this.#require().status.recount();
  }

  /**
   * This tab's page became visible or hidden, focused or not (the main thread tells; a worker
   * cannot see the page). The store's tabs share it: the leader's watcher polls faster while any
   * tab is looked at, and a tab coming into view makes the leader check and sync.
   */
  pageState(state: PageState): void {
    assertPageState(state);
    const opened = this.#require();
    const own = { visible: state.visible, focused: state.focused };
    this.#ownPage = own;
    opened.channel.post({ kind: 'page', tab: opened.tab, state: own });
    this.#pageChanged(opened, opened.tab, own);
  }

  /**
   * For `chainsync/sw`: opens the replica from its background-sync record (see
   * {@link HostedReplicaOptions.backgroundSync}), syncs once and closes. It takes part in the
   * store's leader election like a tab: with a tab open, that tab's leader runs the sync; with none,
   * this one leads, and no tab syncs at the same time.
   * @returns what was done: `synced`; `off` when the app has not opted in (or the data was deleted);
   * `no-key` when the data set is encrypted and no sync with its secret has run on this device yet.
   * @throws what the sync failed with (a network failure: the browser tries again later).
   */
  async syncInBackground(): Promise<'synced' | 'off' | 'no-key'> {
    const { connection } = this.#store();
    const record = await new IdbBackgroundSync(connection).read();
    if (!record) return 'off';
    if (record.encrypted && !record.key) return 'no-key';
    const options = {
      ...record.options,
      ...(record.key ? { secret: record.key } : {}),
      // One sync, asked for below: no watch of the remote, no interval of its own.
      schedule: { live: false, syncOnStart: false },
    } as HostedReplicaOptions;
    this.#inBackground = true;
    await this.open(options, () => undefined);
    try {
      await this.sync();
      return 'synced';
    } finally {
      // A collection the sync started finishes first: closing under it would only fail it.
      await this.#opened?.collector.idle();
      this.close();
    }
  }

  /** Closes the replica: leadership passes to another tab; calls waiting on the leader fail. */
  close(): void {
    const opened = this.#opened;
    if (!opened) return;
    this.#opened = null;
    opened.detach();
    opened.status.stop();
    opened.scheduler?.stop();
    opened.watcher?.stop();
    opened.election.resign();
    // A closed tab looks at nothing: the leader (maybe the next one) stops counting it.
    opened.channel.post({ kind: 'page', tab: opened.tab, state: UNSEEN });
    opened.channel.close();
    opened.requests.close();
  }

  /**
   * Closes the replica because the store's local data is being deleted: the main thread hears why
   * (a {@link ReplicaClosedEvent}), and every later call fails with `error`.
   */
  closeDeleted(error: StoreClosedError): void {
    this.#closedBy = error;
    this.#opened?.events.send({ type: 'closed', reason: 'deleted', message: error.message });
    this.close();
  }

  #lead(): void {
    const opened = this.#opened;
    if (!opened?.election.isLeader) return;
    opened.scheduler?.start();
    opened.watcher?.page(opened.pages.device());
    // A tab opened offline hears no `offline` event: start paused, `online` resumes.
    if (typeof navigator !== 'undefined' && navigator.onLine === false) opened.watcher?.offline();
    opened.watcher?.start();
    opened.channel.post({ kind: 'page-request' });
    opened.status.publish();
    // Requests made of the previous leader are served here.
    opened.requests.takeOver();
  }

  /** Hands a message from another tab to the part it is for. */
  #receive(message: ChannelMessage): void {
    const opened = this.#opened;
    if (!opened) return;
    switch (message.kind) {
      case 'change':
        return opened.relay.tabChanged(message);
      case 'progress':
        return opened.relay.leaderProgress(message.progress);
      case 'status':
        return opened.status.leaderSaid(message.status);
      case 'status-request':
        return opened.status.asked();
      case 'sync-request':
        return opened.requests.serve(message.id);
      case 'synced':
        return opened.requests.answered(message.id, message.error);
      case 'page':
        return this.#pageChanged(opened, message.tab, message.state);
      case 'page-request':
        if (this.#ownPage) opened.channel.post({ kind: 'page', tab: opened.tab, state: this.#ownPage });
        return;
    }
  }

  /** A tab's page state changed: the leader's watcher follows the device's; coming into view syncs. */
  #pageChanged(opened: Opened, tab: string, state: PageState): void {
    const lookedAt = opened.pages.set(tab, state);
    if (!opened.election.isLeader) return;
    opened.watcher?.page(opened.pages.device());
    if (lookedAt) opened.scheduler?.focused();
  }

  /**
   * Runs a call that changes the replica; it answers once the listener has heard of the change
   * (see {@link MainThreadEvents}).
   */
  #answer<T>(call: (replica: Replica) => Promise<T>): Promise<T> {
    const { replica, events } = this.#require();
    return events.after(call(replica));
  }

  #require(): Opened {
    if (this.#closedBy) throw this.#closedBy;
    if (!this.#opened)
      throw new StoreClosedError('No replica is open in this worker; call openReplica() first.');
    return this.#opened;
  }
}

export type { ReplicaEvent, ReplicaStatus, SerializedError, SyncProgress };
