import type { Properties, StoredObject } from '../../src/contracts/replica.js';
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { Client, Snapshot } from '../../src/contracts/storage.js';
import type { PendingOperation, ReplicaState, ShadowObject } from '../../src/contracts/replica-store.js';
import type { ProbeCacheEntry } from '../../src/contracts/probe-cache.js';

/** A CasKv record: an empty `value` is a tombstone. */
export interface KvRecord {
  readonly value: Uint8Array;
  readonly version: string;
}

/** A Storage client record with the revision that optimistic commits re-check. */
export interface ClientRow {
  readonly client: Client;
  readonly revision: number;
}

/** One version of a Storage client's chain, keyed by [clientId, versionId]. */
export interface VersionRow {
  readonly clientId: string;
  readonly versionId: string;
  readonly parentVersionId: string;
  readonly historySegment: Uint8Array;
  /**
   * The client revision of the commit that added it, so a transaction reads versions as of its
   * first read. Absent in rows written before it was recorded: those predate every open transaction.
   */
  readonly revision?: number;
}

/** One lease on blob content, keyed by [contentId, pid, id]. */
export interface LeaseRow {
  readonly contentId: string;
  readonly pid: string;
  readonly id: string;
}

/**
 * The database of one named store: an object store per contract's data. Consensus SeqNos are
 * bigints, which IndexedDB cannot key on, so they are stored as fixed-width decimal strings that
 * sort like the numbers ({@link seqKey}).
 */
export interface ChainsyncDb extends DBSchema {
  kv: { key: string; value: KvRecord };
  /** The head SeqNo of every Consensus key ever written. */
  consensusHeads: { key: string; value: string };
  /** Consensus versions keyed by [key, seqKey(seqno)]. */
  consensusLog: { key: [string, string]; value: Uint8Array };
  clients: { key: string; value: ClientRow };
  snapshots: { key: string; value: { readonly meta: Snapshot; readonly data: Uint8Array } };
  versions: {
    key: [string, string];
    value: VersionRow;
    indexes: { byParent: [string, string] };
  };
  blobContent: { key: string; value: Uint8Array };
  blobLeases: { key: [string, string, string]; value: LeaseRow; indexes: { byPid: string } };
  /** Pids advised terminated (`true`) or alive (`false`). */
  blobPids: { key: string; value: boolean };
  /**
   * Schema 2 to 4: the store's sync replica (worker/replica/): its working set, one record per
   * object, keyed by [collection, id]. Schema 5 renames it {@link ChainsyncDb.replicaOverlay}; only
   * upgrades (and their tests) still name it.
   */
  replicaObjects: { key: [string, string]; value: StoredObject };
  /**
   * Schema 5: the replica's working set written since the last bootstrap and not folded yet, one
   * record per object, keyed by [collection, id]. It wins over {@link ChainsyncDb.replicaChunks};
   * a row whose `properties` is `null` is a tombstone (the object was deleted, though a chunk may
   * hold it). Folds move its rows into the chunks (`IdbReplicaStore.fold`).
   */
  replicaOverlay: { key: [string, string]; value: OverlayRow };
  /**
   * Schema 5: the working set a bootstrap wrote and folds of the overlay updated since, many
   * objects per record ({@link ChunkRow}), keyed by [collection, the chunk's last id]
   * (docs/chunked-store.md). It never holds a tombstone.
   */
  replicaChunks: { key: [string, string]; value: ChunkRow };
  /** Base-version state of objects that pending operations touch, keyed by [collection, id]. */
  replicaShadows: { key: [string, string]; value: ShadowObject };
  /** The pending queue, keyed by seq. */
  replicaPending: { key: number; value: PendingOperation };
  /** One record, {@link REPLICA_STATE_KEY}. */
  replicaState: { key: string; value: ReplicaState };
  /** Schema 3: passed capability probes of the store's remote, by hashed key (`probe-cache.ts`). */
  probeCache: { key: string; value: ProbeCacheEntry };
  /**
   * Schema 4: what a service worker needs to sync the replica with no page open, one record
   * ({@link BACKGROUND_SYNC_KEY}), present only while the app opts in (`idb-background-sync.ts`).
   */
  backgroundSync: { key: string; value: BackgroundSyncRecord };
}

/**
 * How to open the replica for a background sync: its open options as plain data (never a secret
 * nor a function), and the data set's encryption key once a sync derived it (non-extractable: its
 * bytes never leave WebCrypto). The replica host checks `options` again when it reads them.
 */
export interface BackgroundSyncRecord {
  readonly options: Readonly<Record<string, unknown>>;
  /** The data set is encrypted: a background sync must wait for `key`. */
  readonly encrypted: boolean;
  readonly key: CryptoKey | null;
}

/** An object of the replica's overlay, or (`properties: null`) a tombstone hiding a chunk's copy. */
export interface OverlayRow {
  readonly collection: string;
  readonly id: string;
  readonly properties: Properties | null;
}

/**
 * Objects of one collection written together by a bootstrap or a fold, sorted by id: `objects`
 * holds the ids from just above the previous chunk's `lastId` up to `lastId` (the last one's id),
 * at least one.
 */
export interface ChunkRow {
  readonly collection: string;
  readonly lastId: string;
  readonly objects: readonly StoredObject[];
}

/** The key of the background-sync record. */
export const BACKGROUND_SYNC_KEY = 'replica';

/** The key of the replica's state record. */
export const REPLICA_STATE_KEY = 'state';

/** The schema version this code writes. Each step of {@link upgradeSteps} brings the database one version up. */
export const SCHEMA_VERSION = 5;

/** Every object store this code needs, checked when a newer schema is found. */
export const STORE_NAMES = [
  'kv',
  'consensusHeads',
  'consensusLog',
  'clients',
  'snapshots',
  'versions',
  'blobContent',
  'blobLeases',
  'blobPids',
  'replicaOverlay',
  'replicaChunks',
  'replicaShadows',
  'replicaPending',
  'replicaState',
  'probeCache',
  'backgroundSync',
] as const;

type UpgradeDb = IDBPDatabase<ChainsyncDb>;
type UpgradeTx = IDBPTransaction<ChainsyncDb, StoreNames<ChainsyncDb>[], 'versionchange'>;

/**
 * Versioned schema migrations: entry `i` upgrades a database from version `i` to `i + 1`. A new
 * schema appends a step; existing steps never change, so every old database can be brought up.
 */
export const upgradeSteps: ReadonlyArray<(db: UpgradeDb, tx: UpgradeTx) => void> = [
  (db) => {
    db.createObjectStore('kv');
    db.createObjectStore('consensusHeads');
    db.createObjectStore('consensusLog');
    db.createObjectStore('clients');
    db.createObjectStore('snapshots');
    const versions = db.createObjectStore('versions', { keyPath: ['clientId', 'versionId'] });
    versions.createIndex('byParent', ['clientId', 'parentVersionId'], { unique: true });
    db.createObjectStore('blobContent');
    const leases = db.createObjectStore('blobLeases', { keyPath: ['contentId', 'pid', 'id'] });
    leases.createIndex('byPid', 'pid');
    db.createObjectStore('blobPids');
  },
  (db) => {
    db.createObjectStore('replicaObjects', { keyPath: ['collection', 'id'] });
    db.createObjectStore('replicaShadows', { keyPath: ['collection', 'id'] });
    db.createObjectStore('replicaPending', { keyPath: 'seq' });
    db.createObjectStore('replicaState');
  },
  (db) => {
    db.createObjectStore('probeCache');
  },
  (db) => {
    db.createObjectStore('backgroundSync');
  },
  (db, tx) => {
    // Every object stored so far stays where it is, as an overlay row: nothing is copied.
    tx.objectStore('replicaObjects').name = 'replicaOverlay';
    db.createObjectStore('replicaChunks', { keyPath: ['collection', 'lastId'] });
  },
];

/** A SeqNo as a 19-digit decimal string: IndexedDB orders these exactly as the bigints. */
export function seqKey(seqno: bigint): string {
  return seqno.toString().padStart(19, '0');
}

/** Inverse of {@link seqKey}. */
export function seqFromKey(key: string): bigint {
  return BigInt(key);
}
