import type {
  BlobRef,
  ObservableReplica,
  Properties,
  ReplicaChange,
  ReplicaEvent,
  ReplicaInspection,
  ReplicaStatus,
  StoredObject,
  SyncProgress,
  SyncResult,
} from '../contracts/replica.js';
import { proxy, transfer } from 'comlink';
import type { ContentId, GarbageReport } from '../contracts/blob-storage.js';
import type { Unsubscribe } from '../contracts/common.js';
import { InvalidArgumentError, WorkerTerminatedError } from '../contracts/errors.js';
import { Subscribable } from '../core/subscribable.js';
import { assertBytes, assertContentId, assertKey, assertListener } from '../core/validate.js';
import { isBlobRef } from '../sync/blob-ref.js';
import type { HostedReplicaOptions } from '../../worker/replica/hosted-replica-options.js';
import { defaultWorker } from './open-store.js';
import { WorkerLink } from './worker-link.js';

/** Options of {@link openReplica}. */
export interface OpenReplicaOptions extends HostedReplicaOptions {
  /** The local store (one IndexedDB database) the replica lives in. */
  readonly name: string;
  /** Makes the engine's module worker (see `OpenStoreOptions.worker`). */
  readonly worker?: () => Worker;
}

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
  /** Syncs now: in the leader tab, returns what it did; elsewhere asks the leader and returns `null`. */
  sync(): Promise<SyncResult | null>;
  status(): Promise<ReplicaStatus>;
  /** Read-only: the replica's base version, a push under way and the first `limit` pending operations. */
  inspect(limit?: number): Promise<ReplicaInspection>;
  onStatus(listener: (status: ReplicaStatus) => void): Unsubscribe;
  /** Progress of long pulls and snapshot bootstraps (reported by the tab that syncs). */
  onProgress(listener: (progress: SyncProgress) => void): Unsubscribe;
  /** Closes the replica and its worker; leadership passes to another tab. */
  close(): Promise<void>;
}

/**
 * Opens the replica of store `name` in a new engine worker, over its IndexedDB database. Works
 * offline at once; with `remote`, the tab elected leader (Web Locks) syncs on changes, on coming
 * online and on an interval, backing off after failures.
 */
export async function openReplica(options: OpenReplicaOptions): Promise<ReplicaClient> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected { name, clientId, remote?, secret? }.');
  }
  const { name, worker: makeWorker, ...hosted } = options;
  assertKey(name, 'options.name');
  let worker: Worker;
  try {
    worker = (makeWorker ?? defaultWorker)();
  } catch (error) {
    throw new WorkerTerminatedError(
      `The chainsync worker could not be created (${String(error)}); check the worker factory.`,
      { cause: error },
    );
  }
  const link = new WorkerLink(worker);
  const changes = new Subscribable<ReplicaChange>('chainsync: a replica listener threw');
  const statuses = new Subscribable<ReplicaStatus>('chainsync: a replica listener threw');
  const progresses = new Subscribable<SyncProgress>('chainsync: a replica listener threw');
  const receive = (event: ReplicaEvent) => {
    if (event.type === 'change') changes.notify(event);
    else if (event.type === 'status') statuses.notify(event.status);
    else progresses.notify(event.progress);
  };
  try {
    const { pid } = await link.call((r) => r.open(name));
    link.started(pid);
    await link.call((r) => r.replica.open(hosted, proxy(receive)));
  } catch (error) {
    await link.close();
    throw error;
  }
  /** Re-reads on every relevant change; reads run in order, so the last delivered is the newest. */
  const watchReads = <T>(
    relevant: (change: ReplicaChange) => boolean,
    read: () => Promise<T>,
    listener: (value: T) => void,
  ): Unsubscribe => {
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
  };
  const client: ReplicaClient = {
    name,
    create: (collection, id, properties) => link.call((r) => r.replica.create(collection, id, properties)),
    update: (collection, id, properties) => link.call((r) => r.replica.update(collection, id, properties)),
    delete: (collection, id) => link.call((r) => r.replica.delete(collection, id)),
    change: (list) => link.call((r) => r.replica.change(list)),
    get: (collection, id) => link.call((r) => r.replica.get(collection, id)),
    list: (collection) => link.call((r) => r.replica.list(collection)),
    putBlob: async (data, type) => {
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
      return link.call((r) => r.replica.putBlob(transfer(copy, [copy.buffer]), type));
    },
    getBlob: async (blob) => {
      if (typeof blob === 'string') assertContentId(blob, 'blob');
      else if (!isBlobRef(blob)) {
        throw new InvalidArgumentError(
          'blob',
          'expected the reference putBlob returned ({ $blob, size, type?, sealed? }, as read back from a property) or its content id (64 lowercase hex digits).',
        );
      }
      return link.call((r) => r.replica.getBlob(blob));
    },
    collectBlobGarbage: () => link.call((r) => r.replica.collectBlobGarbage()),
    subscribe: (listener) => changes.subscribe(listener),
    watch: (collection, listener) => {
      assertKey(collection, 'collection');
      return watchReads(
        (change) => change.objects === 'all' || change.objects.some((o) => o.collection === collection),
        () => client.list(collection),
        listener,
      );
    },
    watchObject: (collection, id, listener) => {
      assertKey(collection, 'collection');
      assertKey(id, 'id');
      return watchReads(
        (change) =>
          change.objects === 'all' || change.objects.some((o) => o.collection === collection && o.id === id),
        () => client.get(collection, id),
        listener,
      );
    },
    sync: () => link.call((r) => r.replica.sync()),
    status: () => link.call((r) => r.replica.status()),
    inspect: (limit) => link.call((r) => r.replica.inspect(limit)),
    onStatus: (listener) => statuses.subscribe(listener),
    onProgress: (listener) => progresses.subscribe(listener),
    close: async () => {
      changes.clear();
      statuses.clear();
      progresses.clear();
      await link.close();
    },
  };
  return client;
}
