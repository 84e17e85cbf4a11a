/**
 * The replica's local state, behind a small transaction-shaped interface: every {@link
 * ReplicaStore.commit} is one atomic write (one IndexedDB readwrite transaction in the worker), so
 * a crash never leaves an operation applied but not queued, or a version half-applied.
 */
import type { Uuid } from './storage.js';
import type { ObjectRef, Operation, Properties, StoredObject } from './replica.js';

/** A local operation waiting to be pushed. `seq` orders the queue and never repeats. */
export interface PendingOperation {
  readonly seq: number;
  readonly op: Operation;
}

/**
 * The state of an object as of the base version (before the pending operations). Every object
 * that a pending operation touches has one (other objects' working copy is their base state); sync
 * rebuilds objects from it, so every replica ends up with exactly the chain's fold. A shadow may
 * outlive its pending operations (it then equals the working copy); they are all cleared when the
 * queue empties. `properties: null` means the object did not exist at the base.
 */
export interface ShadowObject extends ObjectRef {
  readonly properties: Properties | null;
}

/** One version of a push: it carries `count` pending operations, the first of which is `firstSeq`. */
export interface PushedVersion {
  readonly versionId: Uuid;
  readonly firstSeq: number;
  readonly count: number;
}

/**
 * A push that may have reached the remote, recorded before anything is sent: its versions are
 * recognised by their ids when they show up in the chain, so none is ever applied twice.
 */
export interface InFlightPush {
  /**
   * The replica that planned it ({@link ReplicaState.replicaId}): its versions carry that id and
   * their first operation's `seq`, which the chain's {@link LandedPlans} remembers. Absent in plans
   * recorded by earlier releases, whose versions carry neither.
   */
  readonly replicaId?: Uuid;
  /** The parent of the first version (the base when the push was planned). */
  readonly parentVersionId: Uuid;
  /**
   * The versions in chain order, each the child of the one before, carrying the head of the
   * pending queue in order.
   */
  readonly versions: readonly PushedVersion[];
}

/**
 * Which plans of each replica have landed, as of the base version: for every replica id, the
 * highest `firstSeq` of its versions in the chain up to the base. Part of the chain's fold (every
 * replica computes the same record at the same version) and of every snapshot, so a replica whose
 * versions were compacted away still learns whether its push in flight landed (docs/compaction.md).
 */
export interface LandedPlans {
  /**
   * The height from which the record is complete: versions above it are all counted, versions at
   * or below it may not be (0 for a chain folded from its start; a snapshot written before the
   * record existed, or a replica state from then, starts it at its own height).
   */
  readonly from: number;
  /** Replica id → the highest `firstSeq` of its versions folded. */
  readonly seqs: Readonly<Record<Uuid, number>>;
}

/** Small replica metadata, read and replaced as a whole. */
export interface ReplicaState {
  /** The last version of the chain this replica has applied (nil before the first sync). */
  readonly baseVersionId: Uuid;
  /** Its position in the chain (the first version is 1; 0 before the first sync). */
  readonly baseHeight: number;
  /** The next `seq` for a pending operation. */
  readonly nextSeq: number;
  readonly inFlight: InFlightPush | null;
  /**
   * This replica's id in the chain's {@link LandedPlans}: random, made when it first plans a push,
   * never changed. Absent until then (and in states written by earlier releases).
   */
  readonly replicaId?: Uuid;
  /**
   * The chain's {@link LandedPlans} as of the base. Absent in states written by earlier releases:
   * read as complete from the base's height on, with no entries.
   */
  readonly landed?: LandedPlans;
  /**
   * The ids of the newest versions of the chain up to the base, oldest first, ending with
   * `baseVersionId` (at most 32; the one before the last is at `baseHeight - 1`, and so on): the
   * versions this replica applied or pushed, kept so tools can draw the chain without reading the
   * server (the demo's chain view, through `inspect()`). It starts afresh at a snapshot (the versions
   * before it were never read), and is absent in states written before it was kept.
   */
  readonly recentVersionIds?: readonly Uuid[];
}

/** The initial state of a new replica. */
export const INITIAL_REPLICA_STATE: ReplicaState = {
  baseVersionId: '00000000-0000-0000-0000-000000000000',
  baseHeight: 0,
  nextSeq: 1,
  inFlight: null,
};

/**
 * Everything one atomic commit changes. Fields left out change nothing. Applied in this order:
 * clear, then deletes, then puts (objects and shadows alike); pending removals before appends.
 */
export interface ReplicaWrite {
  /** Removes every object before the puts below (a snapshot bootstrap). */
  readonly clearObjects?: boolean;
  readonly putObjects?: readonly StoredObject[];
  readonly deleteObjects?: readonly ObjectRef[];
  /** Removes every shadow before the puts below. */
  readonly clearShadows?: boolean;
  readonly deleteShadows?: readonly ObjectRef[];
  /** Adds or replaces these shadows. */
  readonly putShadows?: readonly ShadowObject[];
  readonly appendPending?: readonly PendingOperation[];
  /** Removes the pending operations with these seqs. */
  readonly removePending?: readonly number[];
  readonly state?: ReplicaState;
}

/**
 * Local persistence of one replica. Reads may run at any time; writes happen only through
 * {@link ReplicaStore.commit}, atomically. Implementations copy data in and out.
 */
export interface ReplicaStore {
  readState(): Promise<ReplicaState>;
  /** The objects named, in the same order (`null` where absent). */
  getObjects(refs: readonly ObjectRef[]): Promise<(Properties | null)[]>;
  /** Every object of `collection` (of all collections when omitted), ordered by collection, then id. */
  listObjects(collection?: string): Promise<StoredObject[]>;
  /** Every shadow (one per object that pending operations touch). */
  getShadows(): Promise<ShadowObject[]>;
  /** The shadows of the objects named, in order (`undefined` where there is none). */
  getShadowsOf(refs: readonly ObjectRef[]): Promise<(ShadowObject | undefined)[]>;
  /** The pending queue in order, at most `limit` (all when omitted). */
  getPending(limit?: number): Promise<PendingOperation[]>;
  countPending(): Promise<number>;
  /** Applies `write` atomically: all of it or, on error, none of it. */
  commit(write: ReplicaWrite): Promise<void>;
}
