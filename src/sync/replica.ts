/**
 * The public face of the engine: one replica of a data set. Local changes apply to the working
 * set at once and are queued, in one atomic commit; {@link Replica.sync} reconciles the queue
 * with the remote chain.
 */
import type { Change, ObservableReplica, ReplicaChangeEvent, SyncProgress } from '../contracts/replica.js';
import type {
  BlobRef,
  JsonValue,
  ObjectRef,
  Operation,
  Properties,
  StoredObject,
  SyncOptions,
  SyncResult,
} from '../contracts/replica.js';
import type { BlobStorage, ContentId, GarbageReport } from '../contracts/blob-storage.js';
import type { CasKv } from '../contracts/cas-kv.js';
import type { Unsubscribe } from '../contracts/common.js';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../contracts/errors.js';
import type { CompactionPolicy, Storage, Uuid } from '../contracts/storage.js';
import { assertCompactionPolicy, assertCount, assertKey, assertUuid } from '../core/validate.js';
import { Subscribable } from '../core/subscribable.js';
import { Coalescer, settle, type Settled } from '../core/coalescer.js';
import { ReplicaBlobs, type RemoteBlobStore } from './blobs.js';
import { Mutex } from './mutex.js';
import {
  assertJsonValue,
  assertObjectRef,
  assertProperty,
  copyJson,
  objectKey,
  parseObjectKey,
} from '../core/operations.js';
import type { PendingOperation, ReplicaStore, ShadowObject } from '../contracts/replica-store.js';
import { assertSnapshotPolicy, type SnapshotPolicy } from './snapshots.js';
import { SyncEngine } from './sync.js';
import { isCryptoKey } from './crypto.js';
import { ProgressMeter } from './progress.js';
import type { Timers } from '../core/timers.js';
import type { StorageEstimator } from '../core/storage-estimate.js';
import { assertMaxDecodedBytes } from './envelope.js';
import { applyOperation } from './working-set.js';
import { withdrawPending } from './advance.js';
import {
  assertMaxVersionBytes,
  DEFAULT_MAX_VERSION_BYTES,
  operationTooLarge,
  oversizedBytes,
  type VersionLimit,
} from './version-size.js';

/** Options of {@link Replica.open}. */
export interface ReplicaOptions {
  /** Local persistence (`MemoryReplicaStore`, or the worker's IndexedDB store). */
  readonly store: ReplicaStore;
  /** The remote chain; without it the replica works offline only and `sync()` is refused. */
  readonly storage?: Storage;
  /** The data set's id, shared by all its replicas. Required with `storage`. */
  readonly clientId?: Uuid;
  /** Remote metadata (the encryption salt). Required with `secret`. */
  readonly kv?: CasKv;
  /**
   * Encrypts everything stored remotely (AES-256-GCM, key from PBKDF2-SHA256): the data set's
   * secret, or the key {@link ReplicaOptions.onEncryptionKey} gave an earlier session.
   */
  readonly secret?: string | CryptoKey;
  /** Called with the data set's key once a sync has derived and checked it (see `SyncConfig`). */
  readonly onEncryptionKey?: (key: CryptoKey) => void;
  /** Clock for update timestamps and snapshot ages (default `Date.now`). */
  readonly clock?: () => number;
  /** Most operations per pushed version (default 1000). */
  readonly maxOperationsPerVersion?: number;
  /**
   * Most bytes one pushed version may carry, encoded (default 4 MiB). Versions are planned under it
   * (and under the remote's own limit, once a sync learned it), and a write with an operation that
   * could never fit in one version is refused with `OPERATION_TOO_LARGE`: large values belong in
   * blobs ({@link Replica.putBlob}).
   */
  readonly maxVersionBytes?: number;
  /** Versions fetched per remote read (default 100). */
  readonly pullPageSize?: number;
  /**
   * The largest body a pulled segment or snapshot may inflate to, in bytes (default 256 MiB; from
   * 64 KiB to 4 GiB - 1): past it, or past the length the body's gzip data declares, sync fails
   * with CHAIN_INTEGRITY and nothing local changes, so a hostile server's decompression bomb costs
   * at most about this much memory. Every replica of a data set must allow what the others write
   * (a snapshot holds the whole data set): keep the default unless bodies this big are expected.
   */
  readonly maxDecodedBytes?: number;
  /**
   * When this replica uploads a snapshot after a sync (default `{ versions: 100, days: 14 }`): one
   * is due after `versions` versions or `days` days since the last, and welcome at half of either.
   */
  readonly snapshotPolicy?: SnapshotPolicy;
  /**
   * Compacts the remote history behind each snapshot this replica uploads, keeping `keepCommits`
   * commits (default 1,000) and `keepDays` days (default 30) behind it, deleting at most
   * `maxDeletes` objects (default 256) per sync (docs/compaction.md). Off when absent; needs a
   * Storage that compacts (`RemoteStorage`), and every replica of the data set on a release that
   * knows compaction.
   */
  readonly compaction?: CompactionPolicy;
  /** TEST ONLY: fewer PBKDF2 iterations, for fast tests. Never set this in an application. */
  readonly testOnlyPbkdf2Iterations?: number;
  /**
   * The write lock of local writes and sync commits (default: one per replica). Replicas of one
   * store in several tabs pass a lock shared between them (the worker's Web Lock).
   */
  readonly lock?: Mutex;
  /** Local blob storage; enables {@link Replica.putBlob} and {@link Replica.getBlob}. */
  readonly blobs?: BlobStorage;
  /** Where blobs are uploaded and downloaded from (a `RemoteBlobs`); needs `blobs` and `storage`. */
  readonly remoteBlobs?: RemoteBlobStore;
  /**
   * Told how far each sync's bootstrap, pull and push have come ({@link SyncProgress}): once when a
   * phase starts, for its pages at most one event each and at least one per 100 ms while they come,
   * and `done === total` when the phase ends.
   */
  readonly onProgress?: (progress: SyncProgress) => void;
  /** The clock and timers that space progress events (default: the platform's). */
  readonly progressTimers?: Timers;
  /**
   * Reads the origin's storage use, for the QUOTA_EXCEEDED a pull refused for lack of space fails
   * with (default: `navigator.storage.estimate()`; where it is missing the error says it is unknown).
   */
  readonly estimateStorage?: StorageEstimator;
}

/** One replica of a replicated data set. */
export class Replica implements ObservableReplica {
  readonly #store: ReplicaStore;
  readonly #lock: Mutex;
  /**
   * Local writes waiting for the write lock share its next turn: one read of the state, one commit
   * (one IndexedDB transaction) for all of them, each still its own operations in the queue.
   */
  readonly #writes: Coalescer<readonly Change[], ObjectRef[]>;
  readonly #listeners = new Subscribable<ReplicaChangeEvent<'local' | 'sync'>>(
    'chainsync: a change listener threw',
  );
  readonly #clock: () => number;
  readonly #engine: SyncEngine | null;
  readonly #blobs: ReplicaBlobs | null;
  readonly #maxVersionBytes: number;
  readonly #sealed: boolean;

  private constructor(options: ReplicaOptions) {
    this.#store = options.store;
    this.#lock = options.lock ?? new Mutex();
    this.#writes = new Coalescer(
      (section) => this.#lock.run(section),
      (batches) => this.#recordAll(batches),
    );
    this.#clock = options.clock ?? Date.now;
    this.#maxVersionBytes = options.maxVersionBytes ?? DEFAULT_MAX_VERSION_BYTES;
    this.#sealed = options.secret !== undefined;
    const { storage, clientId } = options;
    this.#blobs = options.blobs ? newReplicaBlobs(options) : null;
    const blobs = this.#blobs;
    this.#engine = storage
      ? new SyncEngine(
          {
            store: this.#store,
            lock: this.#lock,
            notify: (change) => this.#emit({ source: 'sync', ...change }),
          },
          {
            storage,
            clientId: clientId ?? '',
            kv: options.kv,
            secret: options.secret,
            onEncryptionKey: options.onEncryptionKey,
            maxOperationsPerVersion: options.maxOperationsPerVersion,
            maxVersionBytes: this.#maxVersionBytes,
            pullPageSize: options.pullPageSize,
            maxDecodedBytes: options.maxDecodedBytes,
            snapshotPolicy: options.snapshotPolicy,
            compaction: options.compaction,
            clock: options.clock,
            testOnlyPbkdf2Iterations: options.testOnlyPbkdf2Iterations,
            beforePush: blobs ? (ops) => blobs.uploadReferenced(ops) : undefined,
            collectBlobs:
              blobs && options.remoteBlobs
                ? (retained, graceMs, maxDeletes) => blobs.collectRemoteGarbage(retained, graceMs, maxDeletes)
                : undefined,
            progress: options.onProgress
              ? new ProgressMeter(options.onProgress, options.progressTimers)
              : undefined,
            estimateStorage: options.estimateStorage,
          },
        )
      : null;
  }

  /** Opens a replica over `options.store`. Works offline: nothing remote is read until `sync()`. */
  static async open(options: ReplicaOptions): Promise<Replica> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options', 'expected { store, storage?, clientId?, kv?, secret? }.');
    }
    if (typeof options.store?.commit !== 'function') {
      throw new InvalidArgumentError(
        'options.store',
        'expected a ReplicaStore such as new MemoryReplicaStore().',
      );
    }
    if (options.storage !== undefined) assertUuid(options.clientId, 'options.clientId');
    if (options.secret !== undefined) {
      const key = isCryptoKey(options.secret);
      if (!key && (typeof options.secret !== 'string' || options.secret.length === 0)) {
        throw new InvalidArgumentError('options.secret', 'expected a non-empty string.');
      }
      if (!options.kv)
        throw new InvalidArgumentError('options.kv', 'a secret needs a CasKv to keep its salt in.');
    }
    for (const name of ['maxOperationsPerVersion', 'pullPageSize', 'testOnlyPbkdf2Iterations'] as const) {
      const value = options[name];
      if (value !== undefined) {
        assertCount(value, `options.${name}`);
        if (value === 0) throw new InvalidArgumentError(`options.${name}`, 'must be at least 1.');
      }
    }
    if (options.maxDecodedBytes !== undefined) assertMaxDecodedBytes(options.maxDecodedBytes);
    if (options.compaction !== undefined) assertCompactionPolicy(options.compaction, 'options.compaction');
    if (options.snapshotPolicy !== undefined)
      assertSnapshotPolicy(options.snapshotPolicy, 'options.snapshotPolicy');
    if (options.maxVersionBytes !== undefined)
      assertMaxVersionBytes(options.maxVersionBytes, 'options.maxVersionBytes');
    validateBlobOptions(options);
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw new InvalidArgumentError('options.onProgress', 'expected a function (progress) => void.');
    }
    if (options.estimateStorage !== undefined && typeof options.estimateStorage !== 'function') {
      throw new InvalidArgumentError(
        'options.estimateStorage',
        'expected a function () => Promise<{ usage, quota, persisted } | null>.',
      );
    }
    await options.store.readState(); // fail now, not on first use, if the store is unusable
    return new Replica(options);
  }

  /** Creates an object. @throws AlreadyExistsError if it exists (nothing is changed). */
  create(collection: string, id: string, properties: Record<string, JsonValue> = {}): Promise<void> {
    return this.change([{ type: 'create', collection, id, properties }]);
  }

  /** Sets properties (`undefined` removes one). @throws NotFoundError if the object does not exist. */
  update(collection: string, id: string, properties: Record<string, JsonValue | undefined>): Promise<void> {
    return this.change([{ type: 'update', collection, id, properties }]);
  }

  /** Deletes an object. Returns whether it existed. */
  async delete(collection: string, id: string): Promise<boolean> {
    assertObjectRef(collection, id);
    const existed = (await this.get(collection, id)) !== null;
    await this.change([{ type: 'delete', collection, id }]);
    return existed;
  }

  /**
   * Applies `changes` in order, all or nothing, as one atomic local commit: the working set
   * changes and the operations are queued together.
   */
  async change(changes: readonly Change[]): Promise<void> {
    const checked = validateChanges(changes);
    if (checked.length === 0) return;
    // Writes issued meanwhile (another change of this tab, a batch from the main thread) that wait
    // for the lock with this one commit together with it, each checked after the ones before it.
    const changed = await this.#writes.submit(checked);
    if (changed.length > 0) this.#emit({ source: 'local', objects: changed, dropped: [], overridden: [] });
  }

  /** The object's properties, or `null` if it does not exist. */
  async get(collection: string, id: string): Promise<Properties | null> {
    assertObjectRef(collection, id);
    const [props] = await this.#store.getObjects([{ collection, id }]);
    return props ?? null;
  }

  /** Every object of `collection`, ordered by id. */
  async list(collection: string): Promise<StoredObject[]> {
    assertKey(collection, 'collection');
    return this.#store.listObjects(collection);
  }

  /** How many local operations wait to be pushed. */
  pendingCount(): Promise<number> {
    return this.#store.countPending();
  }

  /**
   * Discards the pending operations `seqs` (as `inspect`-style `PendingOperation.seq`, or named by
   * an `OPERATIONS_STUCK` sync error) and nothing else: the objects they touched are rebuilt as if
   * they had never been made, and subscribers hear of them in `dropped`, as of operations that lost
   * a conflict. All or nothing. Returns the discarded operations, in queue order.
   * @throws InvalidArgumentError if `seqs` is not an array of seqs, or names an operation of a push
   * that may already be in the chain (sync first); NotFoundError if one is not pending (nothing is
   * discarded).
   */
  async discardPending(seqs: readonly number[]): Promise<Operation[]> {
    if (!Array.isArray(seqs)) throw new InvalidArgumentError('seqs', 'expected an array of pending seqs.');
    seqs.forEach((seq, i) => assertCount(seq, `seqs[${i}]`));
    const wanted = new Set(seqs);
    if (wanted.size === 0) return [];
    const result = await this.#lock.run(async () => {
      const [state, pending] = await Promise.all([this.#store.readState(), this.#store.getPending()]);
      const known = new Set(pending.map((p) => p.seq));
      const missing = [...wanted].filter((seq) => !known.has(seq));
      if (missing.length > 0) {
        throw new NotFoundError(
          `No pending operation has seq ${missing.join(', ')} (pushed, dropped or discarded already). Nothing was discarded.`,
        );
      }
      // A push in flight carries the head of the queue; its operations may be in the chain already.
      const inFlight = (state.inFlight?.versions ?? []).reduce((n, v) => n + v.count, 0);
      const busy = pending.slice(0, inFlight).filter((p) => wanted.has(p.seq));
      if (busy.length > 0) {
        throw new InvalidArgumentError(
          'seqs',
          `operation ${busy.map((p) => p.seq).join(', ')} belongs to a push that may already be in the chain; sync() first. Nothing was discarded.`,
        );
      }
      const withdrawn = await withdrawPending(this.#store, pending, wanted);
      await this.#store.commit(withdrawn.write);
      return withdrawn;
    });
    const dropped = result.dropped.map((p) => p.op);
    this.#emit({ source: 'local', objects: result.changed, dropped, overridden: [] });
    return dropped;
  }

  /** Calls `listener` after every change to the data (local writes and sync). */
  subscribe(listener: (event: ReplicaChangeEvent<'local' | 'sync'>) => void): Unsubscribe {
    return this.#listeners.subscribe(listener);
  }

  /** Reconciles with the remote chain: pull, rebase, push, repeat on conflict. */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    if (!this.#engine) {
      return Promise.reject(
        new InvalidArgumentError(
          'options.storage',
          'this replica was opened without a remote Storage; it cannot sync.',
        ),
      );
    }
    return this.#engine.sync(options);
  }

  /**
   * Stores a blob locally (leased while unreferenced by this instance, then while an object
   * references it) and returns the reference to put in a property value. A sync uploads it before
   * pushing the first version that references it.
   */
  putBlob(data: Uint8Array, type?: string): Promise<BlobRef> {
    return this.#needBlobs().put(data, type);
  }

  /**
   * A blob's bytes: local, else downloaded (verified) and kept locally while referenced.
   * @throws ContentNotFoundError, ContentMismatchError or ChainIntegrityError (nothing local changed).
   */
  getBlob(blob: BlobRef | ContentId): Promise<Uint8Array> {
    return this.#needBlobs().get(blob);
  }

  /** Runs the local blob storage's GC; blobs live objects reference are kept. */
  collectBlobGarbage(): Promise<GarbageReport> {
    return this.#needBlobs().collectGarbage();
  }

  #needBlobs(): ReplicaBlobs {
    if (!this.#blobs) {
      throw new InvalidArgumentError('options.blobs', 'this replica was opened without a BlobStorage.');
    }
    return this.#blobs;
  }

  /**
   * Records the changes of several `change` calls in one commit, in arrival order: each is checked
   * against what the ones before it left and refused on its own (nothing of it is written). If the
   * shared commit fails, each is recorded again on its own, so one cannot fail the others.
   */
  async #recordAll(batches: readonly (readonly Change[])[]): Promise<Settled<ObjectRef[]>[]> {
    // Alone: its commit's failure is its own.
    if (batches.length === 1) return this.#record(batches);
    try {
      return await this.#record(batches);
    } catch {
      // The shared commit failed (quota, data the store refused): each again on its own, so one
      // cannot fail the others.
      const outcomes: Settled<ObjectRef[]>[] = [];
      for (const changes of batches) {
        const settled = await settle(this.#record([changes]));
        outcomes.push(settled.ok ? (settled.value[0] as Settled<ObjectRef[]>) : settled);
      }
      return outcomes;
    }
  }

  async #record(batches: readonly (readonly Change[])[]): Promise<Settled<ObjectRef[]>[]> {
    const keys = [...new Set(batches.flatMap((changes) => changes.map((c) => objectKey(c))))];
    const refs = keys.map(parseObjectKey);
    const [state, current, shadows] = await Promise.all([
      this.#store.readState(),
      this.#store.getObjects(refs),
      this.#store.getShadowsOf(refs),
    ]);
    const working = new Map(keys.map((k, i) => [k, current[i] ?? null]));
    const before = new Map(working);
    const ops: Operation[] = [];
    const timestamp = this.#clock();
    const outcomes: Settled<ObjectRef[]>[] = [];
    for (const changes of batches) {
      // Planned on a scratch copy of its objects: a refused call leaves the group's state alone.
      const own = new Map(changes.map((c) => [objectKey(c), working.get(objectKey(c)) ?? null]));
      try {
        const next = planChanges(changes, own, timestamp);
        await this.#assertFits(next);
        const changed = [...own].filter(([key, after]) => after !== working.get(key));
        for (const [key, after] of changed) working.set(key, after);
        ops.push(...next);
        outcomes.push({ ok: true, value: changed.map(([key]) => parseObjectKey(key)) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    if (ops.length === 0) return outcomes;
    const opKeys = new Set(ops.map(objectKey));
    const putShadows: ShadowObject[] = [];
    keys.forEach((key, i) => {
      if (!shadows[i] && opKeys.has(key)) {
        putShadows.push({ ...parseObjectKey(key), properties: before.get(key) ?? null });
      }
    });
    const appendPending: PendingOperation[] = ops.map((op, i) => ({ seq: state.nextSeq + i, op }));
    const putObjects: StoredObject[] = [];
    const deleteObjects: ObjectRef[] = [];
    keys.forEach((key) => {
      const after = working.get(key) ?? null;
      if (after === before.get(key)) return;
      if (after) putObjects.push({ ...parseObjectKey(key), properties: after });
      else deleteObjects.push(parseObjectKey(key));
    });
    await this.#store.commit({
      putObjects,
      deleteObjects,
      putShadows,
      appendPending,
      state: { ...state, nextSeq: state.nextSeq + ops.length },
    });
    return outcomes;
  }

  /** The most bytes one version may carry: the configured limit, or the remote's once known. */
  #versionLimit(): VersionLimit {
    return this.#engine?.versionLimit() ?? { bytes: this.#maxVersionBytes, source: 'maxVersionBytes' };
  }

  /** Refuses `ops` if one of them alone makes a version over the limit (nothing is written). */
  async #assertFits(ops: readonly Operation[]): Promise<void> {
    const limit = this.#versionLimit();
    for (const op of ops) {
      const bytes = await oversizedBytes(op, this.#sealed, limit.bytes);
      if (bytes !== null) throw operationTooLarge(op, bytes, limit);
    }
  }

  #emit(event: ReplicaChangeEvent<'local' | 'sync'>): void {
    this.#blobs?.refresh(event.objects).catch(() => undefined); // logged by ReplicaBlobs
    this.#listeners.notify(event);
  }
}

function validateBlobOptions(options: ReplicaOptions): void {
  const { blobs, remoteBlobs } = options;
  const methods = ['store', 'getData', 'leaseByContent', 'adviseLeaseDropped', 'collectGarbage'] as const;
  if (blobs !== undefined && !methods.every((m) => typeof blobs?.[m] === 'function')) {
    throw new InvalidArgumentError(
      'options.blobs',
      'expected a BlobStorage such as new MemoryBlobStorage().',
    );
  }
  if (remoteBlobs === undefined) return;
  if (typeof remoteBlobs?.put !== 'function' || typeof remoteBlobs.get !== 'function') {
    throw new InvalidArgumentError('options.remoteBlobs', 'expected a RemoteBlobs (put/get).');
  }
  if (!blobs || !options.storage) {
    throw new InvalidArgumentError('options.remoteBlobs', 'needs options.blobs and options.storage too.');
  }
}

function newReplicaBlobs(options: ReplicaOptions): ReplicaBlobs {
  const store = options.store;
  const blobPid: unknown = (options.blobs as { pid?: unknown } | undefined)?.pid;
  return new ReplicaBlobs({
    local: options.blobs as BlobStorage,
    remote: options.remoteBlobs ?? null,
    encrypted: options.secret !== undefined,
    replicaName: options.clientId ?? 'local',
    // A store bound to its instance (IdbBlobStorage: the tab's or worker's Web Lock) lends its pid.
    pid: typeof blobPid === 'string' && blobPid.length > 0 ? blobPid : crypto.randomUUID(),
    listObjects: () => store.listObjects(),
    getObjects: (refs) => store.getObjects(refs),
    getPendingOperations: async () => (await store.getPending()).map((p) => p.op),
    ...(options.clock === undefined ? {} : { now: options.clock }),
  });
}

function describe(ref: ObjectRef): string {
  return `Object ${JSON.stringify(ref.id)} of collection ${JSON.stringify(ref.collection)}`;
}

/**
 * The operations of one `change` call, applied in order to `working` (its objects by key; null:
 * absent), which it updates.
 * @throws AlreadyExistsError for a create of an object that exists, NotFoundError for an update of
 * one that does not (the caller drops `working`: nothing of the call is kept).
 */
function planChanges(
  changes: readonly Change[],
  working: Map<string, Properties | null>,
  timestamp: number,
): Operation[] {
  const ops: Operation[] = [];
  for (const c of changes) {
    const key = objectKey(c);
    const exists = working.get(key) !== null;
    const { collection, id } = c;
    const next: Operation[] = [];
    if (c.type === 'create') {
      if (exists) {
        throw new AlreadyExistsError(
          `${describe(c)} already exists; use update() to change it. Nothing was changed.`,
        );
      }
      next.push({ type: 'create', collection, id });
      for (const [property, value] of Object.entries(c.properties ?? {})) {
        next.push({ type: 'update', collection, id, property, value: copyJson(value), timestamp });
      }
    } else if (c.type === 'update') {
      if (!exists) {
        throw new NotFoundError(`${describe(c)} does not exist; create() it first. Nothing was changed.`);
      }
      for (const [property, value] of Object.entries(c.properties)) {
        next.push({
          type: 'update',
          collection,
          id,
          property,
          value: value === undefined ? undefined : copyJson(value),
          timestamp,
        });
      }
    } else if (exists) {
      next.push({ type: 'delete', collection, id });
    }
    for (const op of next) working.set(key, applyOperation(working.get(key) ?? null, op));
    ops.push(...next);
  }
  return ops;
}

function validateChanges(changes: readonly Change[]): Change[] {
  if (!Array.isArray(changes)) throw new InvalidArgumentError('changes', 'expected an array of changes.');
  return changes.map((c: Change, i) => {
    const arg = `changes[${i}]`;
    if (typeof c !== 'object' || c === null) throw new InvalidArgumentError(arg, 'expected a change object.');
    assertObjectRef(c.collection, c.id);
    if (c.type === 'delete') return c;
    if (c.type !== 'create' && c.type !== 'update') {
      throw new InvalidArgumentError(`${arg}.type`, "expected 'create', 'update' or 'delete'.");
    }
    const props: unknown = c.properties ?? (c.type === 'create' ? {} : undefined);
    if (typeof props !== 'object' || props === null || Array.isArray(props)) {
      throw new InvalidArgumentError(`${arg}.properties`, 'expected an object of property values.');
    }
    for (const [property, value] of Object.entries(props)) {
      assertProperty(property, `${arg}.properties key`);
      if (value !== undefined || c.type === 'create') assertJsonValue(value, `${arg}.properties.${property}`);
    }
    return c;
  });
}
