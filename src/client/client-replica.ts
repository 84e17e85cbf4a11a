import { backgroundSyncRegistration } from './background-sync-registration.js';
import type {
  BlobRef,
  Change,
  JsonValue,
  ObservableReplica,
  Operation,
  Properties,
  ReplicaChange,
  ReplicaInspection,
  ReplicaStatus,
  StoredObject,
  SyncProgress,
  SyncResult,
} from '../contracts/replica.js';
import { proxy, transfer } from 'comlink';
import type { ContentId, GarbageReport } from '../contracts/blob-storage.js';
import type { Unsubscribe } from '../contracts/common.js';
import { InvalidArgumentError, StoreClosedError } from '../contracts/errors.js';
import { Subscribable } from '../core/subscribable.js';
import { assertBytes, assertContentId, assertKey, assertListener } from '../core/validate.js';
import { isBlobRef } from '../sync/blob-ref.js';
import type { HostedReplicaOptions } from '../../worker/replica/hosted-replica-options.js';
import type { HostedReplicaEvent } from '../../worker/replica/replica-host.js';
import {
  assertDeleteOptions,
  deleteReplicaData,
  refuseUnsynced,
  type DeleteLocalDataOptions,
} from './delete-replica-data.js';
import type { WorkerLink } from './worker-link.js';
import { splitRemoteFunction } from '../remote/remote-functions.js';

/** A replica of a synced data set, run in a worker; every call is one message to it. */
export interface ReplicaClient extends ObservableReplica {
  readonly name: string;
  /**
   * Stores `data` as a blob (in the store's IndexedDB, uploaded by the sync before the first version
   * that references it) and returns its reference: put that in a property, e.g.
   * `update('notes', id, { photo: await replica.putBlob(bytes, 'image/png') })`.
   *
   * `data` is copied once, here, and the copy is transferred to the worker: `data` stays usable
   * (its buffer is never detached), and changing it afterwards does not change the stored blob.
   * @throws InvalidArgumentError if `data` is not a Uint8Array or `type` not a string.
   */
  putBlob(data: Uint8Array, type?: string): Promise<BlobRef>;
  /**
   * The bytes of a blob, by the reference {@link ReplicaClient.putBlob} returned (as read back from a
   * property) or its content id: from IndexedDB, else downloaded from the remote, verified, and kept.
   * On an encrypted data set pass the whole reference (it holds the blob's key). The bytes are
   * transferred from the worker, not copied; the array is the caller's own.
   * @throws InvalidArgumentError for anything else; ContentNotFoundError if the blob is neither
   * local nor remote; ContentMismatchError or ChainIntegrityError if the remote copy is corrupt.
   */
  getBlob(blob: BlobRef | ContentId): Promise<Uint8Array>;
  /**
   * Deletes the local blobs that no object references and no reader or live tab leases (they stay
   * on the remote). The leader tab also runs this after syncs, at most every
   * `blobGarbageIntervalMs`.
   */
  collectBlobGarbage(): Promise<GarbageReport>;
  /** Fires for this tab's writes (`local`), other tabs' (`tab`) and pulled changes (`sync`). */
  subscribe(listener: (change: ReplicaChange) => void): Unsubscribe;
  /**
   * Calls `listener` whenever `collection` (or, with `id`, that one object) may have changed, with
   * its current contents; once at once with the current contents.
   */
  watch(collection: string, listener: (objects: StoredObject[]) => void): Unsubscribe;
  /**
   * Calls `listener` with the object's properties (`null` when absent) now and whenever it may have
   * changed: this tab's writes, other tabs' and pulled changes.
   */
  watchObject(collection: string, id: string, listener: (properties: Properties | null) => void): Unsubscribe;
  /**
   * Syncs now: in the leader tab, returns what it did; elsewhere asks the leader and returns `null`
   * (or, should this tab win the election while it waits, runs the sync and returns what it did).
   */
  sync(): Promise<SyncResult | null>;
  /**
   * Discards the pending operations with these seqs — the ones an `OPERATIONS_STUCK` sync error
   * names (`error.operations[i].seq`), which can never be pushed — and nothing else. Every tab's
   * subscribers hear of them in `dropped`. Returns the discarded operations.
   * @throws NotFoundError if one is not pending (nothing is discarded).
   */
  discardPending(seqs: readonly number[]): Promise<Operation[]>;
  status(): Promise<ReplicaStatus>;
  /**
   * Read-only and local (no request to the server): the replica's base version with the ids of the
   * newest versions up to it (`state.recentVersionIds`), a push under way and the first `limit`
   * pending operations.
   */
  inspect(limit?: number): Promise<ReplicaInspection>;
  onStatus(listener: (status: ReplicaStatus) => void): Unsubscribe;
  /** Progress of long pulls and snapshot bootstraps (reported by the tab that syncs). */
  onProgress(listener: (progress: SyncProgress) => void): Unsubscribe;
  /**
   * Closes the replica and its worker; leadership passes to another tab. Writes made before it
   * finish first (and are kept); writes made after it fail with STORE_CLOSED.
   */
  close(): Promise<void>;
  /**
   * Calls `listener` once when this replica closes: `'closed'` after {@link ReplicaClient.close},
   * `'deleted'` when its local data was deleted (by `deleteLocalData` or `deleteReplicaData`, in
   * any tab). After `'deleted'` every call fails with STORE_CLOSED saying so: show the sign-in page.
   */
  onClosed(listener: (reason: ReplicaCloseReason) => void): Unsubscribe;
  /**
   * Logs out of this device: closes this replica and every tab's replica of the data set, then
   * deletes its local data (the IndexedDB database with its objects, pending queue and blobs). The
   * remote is untouched. See `deleteReplicaData`.
   * @throws UnsyncedChangesError if changes made here have not been synced (nothing is deleted or
   * closed) unless `{ discardPending: true }`; StoreClosedError if this replica is already closed.
   */
  deleteLocalData(options?: DeleteLocalDataOptions): Promise<void>;
}

/** Why a replica closed: its own `close()`, or its local data was deleted. */
export type ReplicaCloseReason = 'closed' | 'deleted';

/** What `console.error` says when a subscriber of a replica client throws. */
const LISTENER_THREW = 'chainsync: a replica listener threw';

/**
 * The {@link ReplicaClient} of one engine worker: each call is one call to the worker's
 * `ReplicaHost`, whose events come back through one listener and fan out here to the subscribers.
 */
export class ClientReplica implements ReplicaClient {
  readonly name: string;
  readonly #link: WorkerLink;
  readonly #changes = new Subscribable<ReplicaChange>(LISTENER_THREW);
  readonly #statuses = new Subscribable<ReplicaStatus>(LISTENER_THREW);
  readonly #progresses = new Subscribable<SyncProgress>(LISTENER_THREW);
  readonly #closes = new Subscribable<ReplicaCloseReason>(LISTENER_THREW);
  /**
   * The writes sent and not answered yet. close() waits for them: closing the engine under a write
   * the worker has accepted would fail it with STORE_CLOSED although the caller made it while the
   * replica was open (an edit, then the app closes or reopens the replica).
   */
  readonly #writing = new Set<Promise<unknown>>();
  #closing: Promise<void> | null = null;
  /** Stops telling the worker about the page (set while this page is told, see #watchPage). */
  #unwatchPage: () => void = () => undefined;
  /** What writes fail with once closing (see #write). */
  #closedError: StoreClosedError | null = null;

  private constructor(name: string, link: WorkerLink) {
    this.name = name;
    this.#link = link;
  }

  /**
   * Opens the replica of the store `link`'s worker has open, with `options`, and returns its client.
   * If that fails, the worker is closed and the error thrown.
   */
  static async open(name: string, link: WorkerLink, options: HostedReplicaOptions): Promise<ClientReplica> {
    const client = new ClientReplica(name, link);
    const receive = proxy((event: HostedReplicaEvent) => client.#receive(event));
    // A credentials or token function cannot be cloned into the worker: it stays here, and the
    // worker calls it through a proxy whenever it needs fresh credentials.
    const split =
      typeof options === 'object' &&
      options !== null &&
      typeof options.remote === 'object' &&
      options.remote !== null
        ? splitRemoteFunction(options.remote)
        : null;
    const hosted = split ? { ...options, remote: split.config } : options;
    const fn = split?.fn && proxy(split.fn);
    try {
      await link.call((r) => r.replica.open(hosted, receive, fn));
    } catch (error) {
      await link.close();
      throw error;
    }
    client.#watchPage();
    if (options.backgroundSync === true) client.#statuses.subscribe(backgroundSyncRegistration(name));
    return client;
  }

  /**
   * Tells the worker whether this page is visible and focused, now and whenever that changes: a
   * worker cannot see the page, and the leader's watcher polls the remote by it (docs/live-sync.md).
   */
  #watchPage(): void {
    const page = globalThis as {
      document?: { visibilityState?: string; hasFocus?: () => boolean };
      addEventListener?: typeof addEventListener;
      removeEventListener?: typeof removeEventListener;
    };
    const doc = page.document;
    if (!doc || typeof page.addEventListener !== 'function') return;
    const tell = () => {
      const state = { visible: doc.visibilityState !== 'hidden', focused: doc.hasFocus?.() ?? true };
      // A page closing meanwhile has nothing left to tell.
      this.#link.call((r) => r.replica.pageState(state)).catch(() => undefined);
    };
    const events = ['visibilitychange', 'focus', 'blur'];
    for (const type of events) page.addEventListener(type, tell);
    this.#unwatchPage = () => {
      for (const type of events) page.removeEventListener?.(type, tell);
    };
    tell();
  }

  create(collection: string, id: string, properties?: Record<string, JsonValue>): Promise<void> {
    return this.#write(() => this.#link.request('replica', 'create', collection, id, properties));
  }

  update(collection: string, id: string, properties: Record<string, JsonValue | undefined>): Promise<void> {
    return this.#write(() => this.#link.request('replica', 'update', collection, id, properties));
  }

  delete(collection: string, id: string): Promise<boolean> {
    return this.#write(() => this.#link.request('replica', 'delete', collection, id));
  }

  change(changes: readonly Change[]): Promise<void> {
    return this.#write(() => this.#link.request('replica', 'change', changes));
  }

  get(collection: string, id: string): Promise<Properties | null> {
    return this.#link.request('replica', 'get', collection, id);
  }

  list(collection: string): Promise<StoredObject[]> {
    return this.#link.request('replica', 'list', collection);
  }

  async putBlob(data: Uint8Array, type?: string): Promise<BlobRef> {
    assertBytes(data, 'data');
    if (type !== undefined && typeof type !== 'string') {
      throw new InvalidArgumentError(
        'type',
        "expected a MIME type string such as 'image/png', or leave it out.",
      );
    }
    // Posting `data` itself would copy it (its whole buffer, even for a small subarray) or, with
    // transfer, detach the caller's buffer. One copy of just the viewed bytes, transferred, is
    // the least work that leaves `data` alone; it also stops later writes to `data` racing the
    // worker's hashing.
    const copy = data.slice();
    return this.#write(() => this.#link.call((r) => r.replica.putBlob(transfer(copy, [copy.buffer]), type)));
  }

  async getBlob(blob: BlobRef | ContentId): Promise<Uint8Array> {
    if (typeof blob === 'string') assertContentId(blob, 'blob');
    else if (!isBlobRef(blob)) {
      throw new InvalidArgumentError(
        'blob',
        'expected the reference putBlob returned ({ $blob, size, type?, sealed? }, as read back from a property) or its content id (64 lowercase hex digits).',
      );
    }
    return this.#link.call((r) => r.replica.getBlob(blob));
  }

  collectBlobGarbage(): Promise<GarbageReport> {
    return this.#link.call((r) => r.replica.collectBlobGarbage());
  }

  subscribe(listener: (change: ReplicaChange) => void): Unsubscribe {
    return this.#changes.subscribe(listener);
  }

  watch(collection: string, listener: (objects: StoredObject[]) => void): Unsubscribe {
    assertKey(collection, 'collection');
    return rereadOnChange(
      this.#changes,
      (change) => concerns(change, collection),
      () => this.list(collection),
      listener,
    );
  }

  watchObject(
    collection: string,
    id: string,
    listener: (properties: Properties | null) => void,
  ): Unsubscribe {
    assertKey(collection, 'collection');
    assertKey(id, 'id');
    return rereadOnChange(
      this.#changes,
      (change) => concerns(change, collection, id),
      () => this.get(collection, id),
      listener,
    );
  }

  sync(): Promise<SyncResult | null> {
    return this.#link.call((r) => r.replica.sync());
  }

  discardPending(seqs: readonly number[]): Promise<Operation[]> {
    return this.#write(() => this.#link.request('replica', 'discardPending', seqs));
  }

  status(): Promise<ReplicaStatus> {
    return this.#link.call((r) => r.replica.status());
  }

  inspect(limit?: number): Promise<ReplicaInspection> {
    return this.#link.call((r) => r.replica.inspect(limit));
  }

  onStatus(listener: (status: ReplicaStatus) => void): Unsubscribe {
    return this.#statuses.subscribe(listener);
  }

  onProgress(listener: (progress: SyncProgress) => void): Unsubscribe {
    return this.#progresses.subscribe(listener);
  }

  onClosed(listener: (reason: ReplicaCloseReason) => void): Unsubscribe {
    return this.#closes.subscribe(listener);
  }

  close(): Promise<void> {
    return this.#shutdown('closed', new StoreClosedError('The replica is closed; open it again to write.'));
  }

  async deleteLocalData(options: DeleteLocalDataOptions = {}): Promise<void> {
    assertDeleteOptions(options);
    if (this.#closedError) throw this.#closedError;
    // Refused here, before anything closes, when this data set has unsynced changes.
    refuseUnsynced(this.name, (await this.status()).pending, options);
    await this.close();
    await deleteReplicaData(this.name, options);
  }

  /**
   * Closes once, for `reason`: listeners are dropped, writes already sent finish, then the worker
   * ends; later calls fail with `error`.
   */
  #shutdown(reason: ReplicaCloseReason, error: StoreClosedError): Promise<void> {
    this.#closing ??= (async () => {
      this.#closedError = error;
      this.#unwatchPage();
      this.#changes.clear();
      this.#statuses.clear();
      this.#progresses.clear();
      this.#closes.notify(reason);
      this.#closes.clear();
      // Writes already sent finish first; later ones are refused (see #write).
      await Promise.all(this.#writing);
      await this.#link.close(error);
    })();
    return this.#closing;
  }

  /** Sends one write (`send` makes the call), unless close() was called; close() waits for it. */
  #write<T>(send: () => Promise<T>): Promise<T> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const sent = send();
    const settled: Promise<unknown> = sent.then(
      () => this.#writing.delete(settled),
      () => this.#writing.delete(settled),
    );
    this.#writing.add(settled);
    return sent;
  }

  /** An event from the worker: to the subscribers of its kind. */
  #receive(event: HostedReplicaEvent): void {
    if (event.type === 'change') this.#changes.notify(event);
    else if (event.type === 'status') this.#statuses.notify(event.status);
    else if (event.type === 'progress') this.#progresses.notify(event.progress);
    else void this.#shutdown('deleted', new StoreClosedError(event.message));
  }
}

/** Whether `change` may concern `collection` (with `id`, that one object of it). */
function concerns(change: ReplicaChange, collection: string, id?: string): boolean {
  return (
    change.objects === 'all' ||
    change.objects.some((o) => o.collection === collection && (id === undefined || o.id === id))
  );
}

/**
 * Calls `listener` with `read()` now and again after every change that `relevant` picks out. The
 * reads run one after another, so the last value delivered is the newest. A read that fails (the
 * replica closed or its worker died) delivers nothing.
 */
function rereadOnChange<T>(
  changes: Subscribable<ReplicaChange>,
  relevant: (change: ReplicaChange) => boolean,
  read: () => Promise<T>,
  listener: (value: T) => void,
): Unsubscribe {
  assertListener(listener);
  let live = true;
  let reading: Promise<void> = Promise.resolve();
  const refresh = () => {
    reading = reading.then(async () => {
      if (!live) return;
      let value: T;
      try {
        value = await read();
      } catch {
        return; // the replica closed or its worker died: nothing more to deliver
      }
      if (live) listener(value);
    });
  };
  const off = changes.subscribe((change) => {
    if (relevant(change)) refresh();
  });
  refresh();
  return () => {
    live = false;
    off();
  };
}
