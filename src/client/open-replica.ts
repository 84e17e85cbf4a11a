import { proxy } from 'comlink';
import type { Unsubscribe } from '../contracts/common.js';
import { InvalidArgumentError, WorkerTerminatedError } from '../contracts/errors.js';
import { assertKey } from '../core/validate.js';
import type { JsonValue, Properties } from '../sync/operations.js';
import type { Change } from '../sync/replica.js';
import type { StoredObject } from '../sync/replica-store.js';
import type { SyncResult } from '../sync/sync.js';
import type { HostedReplicaOptions, ReplicaInspection } from '../../worker/replica/replica-host.js';
import type { ReplicaEvent, ReplicaStatus } from '../../worker/replica/replica-channel.js';
import type { SyncProgress } from '../../worker/replica/progress-storage.js';
import { defaultWorker } from './open-store.js';
import { WorkerLink } from './worker-link.js';

export type { ReplicaEvent, ReplicaInspection, ReplicaStatus, SyncProgress };
export type { RemoteConfig, HttpRemoteConfig } from '../../worker/replica/remote-config.js';
export type { SyncSchedule } from '../../worker/replica/sync-scheduler.js';

/** Options of {@link openReplica}. */
export interface OpenReplicaOptions extends HostedReplicaOptions {
  /** The local store (one IndexedDB database) the replica lives in. */
  readonly name: string;
  /** Makes the engine's module worker (see `OpenStoreOptions.worker`). */
  readonly worker?: () => Worker;
}

/** A change event as subscribers receive it. */
export type ReplicaChange = Extract<ReplicaEvent, { type: 'change' }>;

/** A replica of a synced data set, run in a worker; every call is one message to it. */
export interface ReplicaClient {
  readonly name: string;
  create(collection: string, id: string, properties?: Record<string, JsonValue>): Promise<void>;
  update(collection: string, id: string, properties: Record<string, JsonValue | undefined>): Promise<void>;
  /** Returns whether the object existed. */
  delete(collection: string, id: string): Promise<boolean>;
  /** Several changes, all or nothing, in one local commit. */
  change(changes: readonly Change[]): Promise<void>;
  get(collection: string, id: string): Promise<Properties | null>;
  list(collection: string): Promise<StoredObject[]>;
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
  const changes = new Set<(change: ReplicaChange) => void>();
  const statuses = new Set<(status: ReplicaStatus) => void>();
  const progresses = new Set<(progress: SyncProgress) => void>();
  const fire = <T>(listeners: Set<(value: T) => void>, value: T) => {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        console.error('chainsync: a replica listener threw', error);
      }
    }
  };
  const receive = (event: ReplicaEvent) => {
    if (event.type === 'change') fire(changes, event);
    else if (event.type === 'status') fire(statuses, event.status);
    else fire(progresses, event.progress);
  };
  try {
    const { pid } = await link.call((r) => r.open(name));
    link.started(pid);
    await link.call((r) => r.replica.open(hosted, proxy(receive)));
  } catch (error) {
    await link.close();
    throw error;
  }
  const on = <T>(set: Set<T>, listener: T): Unsubscribe => {
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', 'expected a function.');
    set.add(listener);
    return () => set.delete(listener);
  };
  /** Re-reads on every relevant change; reads run in order, so the last delivered is the newest. */
  const watchReads = <T>(
    relevant: (change: ReplicaChange) => boolean,
    read: () => Promise<T>,
    listener: (value: T) => void,
  ): Unsubscribe => {
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', 'expected a function.');
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
    const off = on(changes, (change: ReplicaChange) => {
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
    subscribe: (listener) => on(changes, listener),
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
    onStatus: (listener) => on(statuses, listener),
    onProgress: (listener) => on(progresses, listener),
    close: async () => {
      changes.clear();
      statuses.clear();
      progresses.clear();
      await link.close();
    },
  };
  return client;
}
