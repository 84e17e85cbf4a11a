/**
 * What `chainsync/query` needs from a replica: a slice of the replica contract
 * ({@link ReplicaApi}), which the engine's `Replica` and the worker-hosted `ReplicaClient` both
 * implement. The `Query*` names are the contract's own types, kept for code written against them.
 */
import type {
  Change,
  ChangeSource,
  JsonValue,
  ObjectRef,
  Properties,
  ReplicaApi,
  ReplicaChangeEvent,
  StoredObject,
} from '../contracts/replica.js';

/** A JSON value: what an object property may hold. */
export type QueryJsonValue = JsonValue;

/** An object's properties, as the replica stores them. */
export type QueryProperties = Properties;

/** Names one object of the replica. */
export type QueryObjectRef = ObjectRef;

/** One object of a collection, as `list` returns it. */
export type QueryStoredObject = StoredObject;

/** One local change, as the replica's `change` takes it. */
export type QueryReplicaChange = Change;

/**
 * Which data changed, and why: a {@link ChangeSource} of the replica, or `remote-tab` for a write
 * another tab announced through `shareChangesAcrossTabs`. `objects: 'all'` means the whole data
 * set may have changed (a snapshot replaced it).
 */
export interface QueryChangeEvent extends Pick<ReplicaChangeEvent, 'objects'> {
  readonly source: ChangeSource | 'remote-tab';
}

/** The replica, as `chainsync/query` uses it. Every method is promise-based (it may be remote). */
export interface QueryableReplica extends Pick<ReplicaApi, 'get' | 'change'> {
  /** Every object of `collection`, ordered by id. */
  list(collection: string): Promise<readonly StoredObject[]>;
  /** Calls `listener` after every change to the data; returns the unsubscribe function. */
  subscribe(listener: (event: QueryChangeEvent) => void): () => void;
  /** Reconciles with the remote chain. */
  sync(): Promise<unknown>;
}
