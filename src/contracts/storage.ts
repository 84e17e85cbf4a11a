/** A UUID in canonical lowercase form (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`). */
export type Uuid = string;

/** The nil UUID: the parent of a chain's first version, and a client's latest before any version. */
export const NIL_UUID: Uuid = '00000000-0000-0000-0000-000000000000';

/** Metadata of a client's latest snapshot (the data itself is fetched separately). */
export interface Snapshot {
  /** The version at which the snapshot was made. */
  readonly versionId: Uuid;
  /** When it was set, in milliseconds since the Unix epoch (UTC). */
  readonly timestamp: number;
  /** How many versions were added since. */
  readonly versionsSince: number;
}

/** What the storage knows of one client (one replicated data set). */
export interface Client {
  /** The head of the chain; the nil UUID before any version. */
  readonly latestVersionId: Uuid;
  readonly snapshot: Snapshot | null;
}

/** One link of a client's chain. */
export interface Version {
  readonly versionId: Uuid;
  readonly parentVersionId: Uuid;
  readonly historySegment: Uint8Array;
}

/**
 * A transaction on one client's chain (seed 003, TaskChampion's `StorageTxn`).
 *
 * Transactions are sequentially consistent: their results are as if they ran one at a time.
 * Writes are buffered and become visible only at {@link StorageTxn.commit}; a transaction dropped
 * without `commit()` leaves no trace. Transactions of different clients never conflict.
 *
 * **Callers must retry.** Unlike TaskChampion's SQLite storage, which blocks a second writer,
 * every chainsync Storage is optimistic: transactions never wait for each other, each reads the
 * client as of its first read (versions committed since are invisible to it), and of two that
 * read the same state and both write, the second `commit()` fails with TransactionConflictError,
 * having applied nothing. That is the one error of a lost race on every implementation; the
 * loser's other calls behave as if it had run alone. Run the whole read-decide-write again in a
 * new transaction: `withStorageTxn(storage, clientId, body)`, exported by the package, does so.
 */
export interface StorageTxn {
  /** The client, or `null` if it was never created. */
  getClient(): Promise<Client | null>;
  /** @throws AlreadyExistsError if the client exists. */
  newClient(latestVersionId: Uuid): Promise<void>;
  /** Replaces the client's snapshot. @throws NotFoundError without a client. */
  setSnapshot(snapshot: Snapshot, data: Uint8Array): Promise<void>;
  /**
   * The data of the client's current snapshot. chainsync extension: a storage that reads a snapshot
   * in parts (a remote one, past its object size) calls `onPart` as each part arrives, with the
   * part's size and the whole's; one read in one piece calls nothing.
   * @throws SnapshotMismatchError if `versionId` is not the current snapshot's version (or there is
   * none); NotFoundError without a client.
   */
  getSnapshotData(versionId: Uuid, onPart?: SnapshotPartRead): Promise<Uint8Array | null>;
  /** The version whose parent is `parentVersionId`, or `null`. */
  getVersionByParent(parentVersionId: Uuid): Promise<Version | null>;
  /** The version with this id, or `null`. */
  getVersion(versionId: Uuid): Promise<Version | null>;
  /**
   * chainsync extension: up to `limit` consecutive versions following `parentVersionId` (its
   * child, grandchild, …), in chain order. Lets a remote implementation fetch a long catch-up in
   * parallel rather than one round trip per version. Empty when `parentVersionId` has no child.
   */
  getVersionsAfter(parentVersionId: Uuid, limit: number): Promise<Version[]>;
  /**
   * chainsync extension, optional: about how many versions follow `parentVersionId` up to the
   * latest, as this transaction sees it, or `null` when the storage cannot tell without reading
   * them. Only for progress totals: it may count more (a remote storage counts its commits, and a
   * snapshot's commit holds no version), never fewer when the parent is in the chain.
   */
  countVersionsAfter?(parentVersionId: Uuid): Promise<number | null>;
  /**
   * Adds a version (its id must be new and its parent must have no child yet), makes it the latest
   * and increments the snapshot's `versionsSince`.
   * @throws VersionConflictError unless the latest version is `parentVersionId` or the nil UUID;
   * AlreadyExistsError if the id or the parent's child exists as this transaction sees it (a
   * version committed by another transaction since is reported by `commit()` instead, as
   * TransactionConflictError); NotFoundError without a client.
   */
  addVersion(versionId: Uuid, parentVersionId: Uuid, historySegment: Uint8Array): Promise<void>;
  /**
   * Applies the buffered writes atomically.
   * @throws TransactionConflictError if another transaction changed the client since this one
   * first read it: a lost race (nothing applied; run the transaction again in a new one, e.g.
   * through `withStorageTxn`); TransactionFinishedError on a second call.
   */
  commit(): Promise<void>;
}

/**
 * Told of each part of a snapshot read in parts (see {@link StorageTxn.getSnapshotData}): the
 * part's bytes, and the parts and bytes of the whole snapshot.
 */
export type SnapshotPartRead = (
  partBytes: number,
  whole: { readonly parts: number; readonly bytes: number },
) => void;

/** How much one write of a {@link Storage} may carry (chainsync extension). */
export interface StorageLimits {
  /**
   * The largest history segment one version may carry, in bytes, or `null` when the storage knows
   * no limit. A remote storage derives it from the object size its server accepts.
   */
  readonly maxSegmentBytes: number | null;
}

// ---- compaction (issue 12; chainsync extension, docs/compaction.md) ----

/** How much history {@link Storage.compact} keeps behind the snapshot, and how much one call deletes. */
export interface CompactionPolicy {
  /**
   * Commits kept behind the one holding the snapshot's version (default 1,000): a replica that far
   * behind still catches up by versions; one further behind recovers from the snapshot.
   */
  readonly keepCommits?: number;
  /**
   * Days of history kept (default 30): a commit is deleted only once a snapshot of a version at or
   * after it is at least this old.
   */
  readonly keepDays?: number;
  /** Most objects one call deletes (default 256); call again while the report says `more`. */
  readonly maxDeletes?: number;
}

/** {@link CompactionPolicy} and the time a call takes for now. */
export interface CompactionOptions extends CompactionPolicy {
  /** The time now, in milliseconds since the Unix epoch (default `Date.now()`). */
  readonly now?: number;
}

/** What one {@link Storage.compact} call left. */
export interface CompactionReport {
  /** Commits below it are deleted or being deleted; readers no longer see them. */
  readonly floor: number;
  /** Commits below it are deleted, with everything only they needed. */
  readonly swept: number;
  /** Objects this call deleted (an object already gone counts too: deleting is idempotent). */
  readonly deleted: number;
  /** Whether commits below the floor remain to be deleted. */
  readonly more: boolean;
  /**
   * The parent of the first version kept (`NIL_UUID`: all are kept): `getVersionsAfter` from it
   * reads every retained version, as remote blob GC must to keep what they reference. Absent
   * when the storage cannot tell (the record at the floor could not be read).
   */
  readonly retainedFrom?: Uuid;
}

/** {@link CompactionPolicy.keepDays}' default: also remote blob GC's grace period by default. */
export const DEFAULT_KEEP_DAYS = 30;

/** Storage for the chains of many clients (seed 003, TaskChampion's `Storage`). */
export interface Storage {
  /** Begins a transaction on `clientId`'s data. */
  txn(clientId: Uuid): Promise<StorageTxn>;
  /**
   * chainsync extension, optional: what one version may carry. The sync engine plans versions
   * under it; without it (or with `null`) only the replica's configured limit applies.
   */
  limits?(): Promise<StorageLimits>;
  /**
   * chainsync extension, optional: deletes history behind `clientId`'s snapshot beyond `options`'
   * retention, in a bounded batch (see {@link CompactionReport.more}). Safe to call at any time,
   * from any replica, several at once. Storages that keep everything leave it out.
   */
  compact?(clientId: Uuid, options?: CompactionOptions): Promise<CompactionReport>;
}
