/**
 * The replica contract: the data model (objects of JSON properties, changed by operations), the
 * changes callers make, the events and status a replica reports, and {@link ReplicaApi}, the
 * calls every replica answers — the engine's `Replica`, the worker's `ReplicaHost` and the main
 * thread's `ReplicaClient` — and that `chainsync/query` consumes. Types only.
 */
import type { ContentId, GarbageReport, RemoteBlobGcReport } from './blob-storage.js';
import type { Unsubscribe } from './common.js';
import type { SerializedError } from './errors.js';
import type { PendingOperation, ReplicaState } from './replica-store.js';
import type { CompactionReport, Uuid } from './storage.js';

/** A JSON value: what an object property may hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An object's properties. */
export type Properties = Readonly<Record<string, JsonValue>>;

/** Names one object of the replica. */
export interface ObjectRef {
  readonly collection: string;
  readonly id: string;
}

/** One object of the working set, as `list` returns it. */
export interface StoredObject extends ObjectRef {
  readonly properties: Properties;
}

/** Creates the object (empty) if it does not exist. */
export interface CreateOperation extends ObjectRef {
  readonly type: 'create';
}

/** Deletes the object and all its properties. */
export interface DeleteOperation extends ObjectRef {
  readonly type: 'delete';
}

/** Sets one property (`value` undefined removes it). Ignored when the object does not exist. */
export interface UpdateOperation extends ObjectRef {
  readonly type: 'update';
  readonly property: string;
  readonly value: JsonValue | undefined;
  /** When the change was made (ms since the epoch): the later of two conflicting updates wins. */
  readonly timestamp: number;
}

/** One recorded change to the replicated data. */
export type Operation = CreateOperation | DeleteOperation | UpdateOperation;

/** One local change, as callers describe it. */
export type Change =
  /** Creates the object with these properties. Fails if it exists. */
  | {
      readonly type: 'create';
      readonly collection: string;
      readonly id: string;
      readonly properties?: Record<string, JsonValue>;
    }
  /** Sets these properties (`undefined` removes one). Fails if the object does not exist. */
  | {
      readonly type: 'update';
      readonly collection: string;
      readonly id: string;
      readonly properties: Record<string, JsonValue | undefined>;
    }
  /** Deletes the object, if it exists. */
  | { readonly type: 'delete'; readonly collection: string; readonly id: string };

/** How a sealed blob is found and opened (present only on encrypted replica sets). */
export interface SealedBlob {
  /** The remote object's name: SHA-256 of the sealed bytes. */
  readonly remote: ContentId;
  /** The blob's own AES-256-GCM key, base64 (it lives only inside encrypted segments). */
  readonly key: string;
}

/** A reference to a blob, stored as a property value (or anywhere inside one). */
export interface BlobRef {
  readonly $blob: ContentId;
  readonly size: number;
  readonly type?: string;
  readonly sealed?: SealedBlob;
}

/**
 * Where a change came from, as seen by the replica reporting it: a write of this replica
 * (`local`), a write another tab of the same store made (`tab`), or data a sync pulled or rebased
 * (`sync`).
 */
export type ChangeSource = 'local' | 'tab' | 'sync';

/**
 * What changed, for subscribers. `S` narrows where it may come from: the engine's own replica
 * reports only `local` and `sync`.
 */
export interface ReplicaChangeEvent<S extends ChangeSource = ChangeSource> {
  readonly source: S;
  /** The objects whose data changed, or `'all'` after a snapshot replaced the data set. */
  readonly objects: readonly ObjectRef[] | 'all';
  /** Local operations that lost a conflict to the chain and were discarded (sync only). */
  readonly dropped: readonly Operation[];
  /**
   * Other replicas' operations that a local operation beat, in chain order (sync only): the
   * conflicts this replica won. The local operation stays queued; should a still later version beat
   * it before it is pushed, a later event reports it in `dropped`.
   */
  readonly overridden: readonly Operation[];
}

/** Options of one sync. */
export interface SyncOptions {
  /** Upload a snapshot only when its urgency is high (TaskChampion's `avoid_snapshots`). */
  readonly avoidSnapshots?: boolean;
}

/** What one sync did. */
export interface SyncResult {
  /** Other replicas' versions applied. */
  pulledVersions: number;
  /** Versions this replica added to the chain. */
  pushedVersions: number;
  /** Their ids, in chain order (including a push from an earlier sync recognised now). */
  pushedVersionIds: Uuid[];
  pushedOperations: number;
  /** Pending operations that lost a conflict (by the transform rules) and were discarded. */
  dropped: Operation[];
  /**
   * Other replicas' operations that a pending operation of this replica beat (by the transform
   * rules), in chain order: the conflicts this replica won. The pending operation stays queued and
   * is pushed; should a still later version (of a later page, or a later sync) beat it before it
   * lands, it is reported in `dropped` then.
   */
  overridden: Operation[];
  /** How the base was replaced from a snapshot, if it was. */
  reset: 'bootstrap' | 'recovered' | null;
  snapshotUploaded: boolean;
  /**
   * Why the snapshot this sync tried to upload failed (e.g. the server refused its size), or `null`.
   * A failed snapshot never fails the sync: what it pushed and pulled stands, and the next sync
   * tries the snapshot again.
   */
  snapshotError: SerializedError | null;
  /**
   * The compaction this sync ran (issue 12: with `ReplicaOptions.compaction`, after uploading a
   * snapshot or to finish an earlier one): what it left, or why it failed. It never fails the sync;
   * the next sync continues it. Absent when no compaction ran.
   */
  compaction?:
    | {
        readonly report: CompactionReport;
        /**
         * The remote blob GC run after it (issue 12 item 4: with `remoteBlobs`), or why it failed;
         * it never fails the sync either. Absent when the replica has no remote blobs.
         */
        readonly blobs?: { readonly report: RemoteBlobGcReport } | { readonly error: SerializedError };
      }
    | { readonly error: SerializedError };
}

/** The part of a sync a {@link SyncProgress} is about. */
export type SyncPhase = 'bootstrap' | 'pull' | 'push';

/**
 * How far one phase of a sync has come. Each phase counts from 0 in its own unit: `bootstrap` the
 * snapshot read (`total` 1, or its parts when a remote stores it in parts), `pull` the versions
 * after the base, `push` the local operations sent. Within a phase `done` and `bytes` never go back, and the phase's last event has `done === total`.
 *
 * Changed in this release: `{ phase, versions, bytes }` became `{ phase, done, total, bytes,
 * totalBytes? }`, and `push` is new (`versions` is the `done` of a `pull`).
 */
export interface SyncProgress {
  /** `bootstrap`: reading the snapshot; `pull`: reading the versions after the base; `push`: sending the queue. */
  readonly phase: SyncPhase;
  /** Units of this phase done so far (snapshots read, versions pulled, operations pushed). */
  readonly done: number;
  /**
   * The units this phase has in all, `null` while unknown (a storage that cannot count the versions
   * ahead). A pull's total comes from the chain as the sync first read it (the head's commit number
   * minus the base's: a commit holding no version, such as a snapshot's, counts too, so the total
   * may come down to `done` at the end); a push's from the queue; never below `done`.
   */
  readonly total: number | null;
  /** Bytes read (bootstrap, pull) or sent (push) so far in this phase. */
  readonly bytes: number;
  /**
   * The bytes this phase has in all, when the storage states them before they are read: a
   * bootstrap from a snapshot stored in parts (then counted in parts, `total` the part count).
   */
  readonly totalBytes?: number;
}

/** The sync status every tab of a replica can observe. */
export interface ReplicaStatus {
  /** The browser believes it is online (`navigator.onLine`, updated by `online`/`offline` events). */
  readonly online: boolean;
  /** The leader tab is syncing now. */
  readonly syncing: boolean;
  /** Local operations not yet pushed (the queue is shared by every tab of the store). */
  readonly pending: number;
  /** Why the last sync failed, or `null` when it succeeded (or none ran yet). */
  readonly lastError: SerializedError | null;
  /** When the last sync succeeded (ms since the epoch), or `null`. */
  readonly lastSyncAt: number | null;
  /** The versions the last successful sync added to the chain for this store, in chain order. */
  readonly lastPushed: readonly string[];
  /**
   * Why the last snapshot upload failed (its sync succeeded all the same), or `null` once one
   * succeeds. The next sync tries again.
   */
  readonly snapshotError: SerializedError | null;
  /** This tab is the one that syncs. */
  readonly leader: boolean;
  /**
   * How the leader learns of other devices' changes now (the same in every tab): `signal`, a
   * request the server holds until the chain moves; `polling`, conditional reads on an interval
   * (servers without the signal, or after a failed check); `offline`, paused until the network is
   * back; `off`, not watched (no remote, `schedule.live: false`, or no leader yet): changes arrive
   * with the interval sync only.
   */
  readonly transport: LiveTransport;
  /**
   * The origin's storage as this tab's browser last reported it ({@link StorageUse}), or `null`
   * where the Storage API (`navigator.storage.estimate()`) is missing or failed, and before it was
   * first read. Read when the replica opens, then after syncs and local writes, at most once per
   * few seconds (an estimate costs the browser a look at its disk): a figure may be that old.
   */
  readonly storage: StorageUse | null;
  /**
   * What the data set holds on the server ({@link RemoteUse}), as the leader last listed it: after
   * the first sync and after each compaction, with `compaction` on (`null` before, without it, or
   * where the server cannot list).
   */
  readonly remote: RemoteUse | null;
}

/**
 * A data set on its server: what compaction (docs/compaction.md) keeps, from one LIST of the data
 * set's prefix.
 */
export interface RemoteUse {
  /**
   * The versions the server keeps: heights `from` … `to`, `to` being the chain's head as the leader
   * synced it. Older ones were compacted away; a replica whose base is older bootstraps from the
   * snapshot. Empty (`from > to`) when the server keeps none; deletions under way count as kept.
   */
  readonly retained: { readonly from: number; readonly to: number };
  /** Objects under the data set's prefix: the chain, snapshots, blobs and metadata. */
  readonly objects: number;
  /** Their bytes, or `null` where the server's listing does not state sizes. */
  readonly bytes: number | null;
  /** When the server was listed (ms since the epoch). */
  readonly at: number;
}

/**
 * How much the browser lets the origin store and uses now (`navigator.storage.estimate()`; both
 * figures cover every database and cache of the origin, not only this replica's), and whether
 * it keeps the data under storage pressure (`navigator.storage.persisted()`).
 */
export interface StorageUse {
  /** Bytes the origin uses (the browser's estimate: it may round or pad it). */
  readonly usage: number;
  /** Bytes the origin may use in all. */
  readonly quota: number;
  /**
   * `true` when the browser granted persistent storage (it will not evict the data to make room),
   * `false` when not, `null` where the browser cannot tell (no `navigator.storage.persisted()`).
   */
  readonly persisted: boolean | null;
}

/** How a replica's leader watches the remote; see {@link ReplicaStatus.transport}. */
export type LiveTransport = 'signal' | 'polling' | 'offline' | 'off';

/**
 * A read-only look at a replica's place in the chain, from its local state alone: its base, the
 * newest versions up to it (`state.recentVersionIds`), a push under way and the head of its queue.
 */
export interface ReplicaInspection {
  readonly state: ReplicaState;
  readonly pending: PendingOperation[];
}

/**
 * A change event as a worker-hosted replica delivers it. Pulled changes (`source: 'sync'`) also
 * say how conflicts went for this replica: `dropped` lists its operations that lost and were
 * discarded, `overridden` the other replicas' operations that one of its operations beat.
 */
export interface ReplicaChange extends ReplicaChangeEvent {
  readonly type: 'change';
}

/** What a worker-hosted replica tells its main thread. */
export type ReplicaEvent =
  | ReplicaChange
  | { readonly type: 'status'; readonly status: ReplicaStatus }
  | { readonly type: 'progress'; readonly progress: SyncProgress };

/**
 * The calls every replica answers, wherever it runs (the engine's `Replica` in any JavaScript
 * runtime, the worker's `ReplicaHost`, the main thread's `ReplicaClient`). Every method is
 * promise-based: the replica may be across a worker boundary.
 */
export interface ReplicaApi {
  /** Creates an object. @throws AlreadyExistsError if it exists (nothing is changed). */
  create(collection: string, id: string, properties?: Record<string, JsonValue>): Promise<void>;
  /** Sets properties (`undefined` removes one). @throws NotFoundError if the object does not exist. */
  update(collection: string, id: string, properties: Record<string, JsonValue | undefined>): Promise<void>;
  /** Deletes an object. Returns whether it existed. */
  delete(collection: string, id: string): Promise<boolean>;
  /** Applies `changes` in order, all or nothing, as one atomic local commit. */
  change(changes: readonly Change[]): Promise<void>;
  /** The object's properties, or `null` if it does not exist. */
  get(collection: string, id: string): Promise<Properties | null>;
  /** Every object of `collection`, ordered by id. */
  list(collection: string): Promise<StoredObject[]>;
  /** Stores `data` as a blob of the replica; put the returned reference in a property. */
  putBlob(data: Uint8Array, type?: string): Promise<BlobRef>;
  /** A blob's bytes, by its reference or content id: local, else downloaded and verified. */
  getBlob(blob: BlobRef | ContentId): Promise<Uint8Array>;
  /** Deletes the local blobs nothing references or leases any more. */
  collectBlobGarbage(): Promise<GarbageReport>;
  /**
   * Reconciles with the remote chain. A replica that asks another to sync for it (a tab that is not
   * the leader) resolves `null` once that sync finished; if it becomes the leader while it waits, it
   * runs the sync itself and resolves what the sync did.
   */
  sync(): Promise<SyncResult | null>;
  /**
   * Discards the pending operations with these seqs (as an `OPERATIONS_STUCK` sync error names
   * them) and nothing else, all or nothing: the objects they touched are rebuilt without them, and
   * subscribers hear of them in `dropped`. Returns the discarded operations, in queue order.
   */
  discardPending(seqs: readonly number[]): Promise<Operation[]>;
}

/** A replica that reports its changes to subscribers (the engine's `Replica`, `ReplicaClient`). */
export interface ObservableReplica extends ReplicaApi {
  /** Calls `listener` after every change to the data; returns the unsubscribe function. */
  subscribe(listener: (event: ReplicaChangeEvent) => void): Unsubscribe;
}
