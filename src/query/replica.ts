/**
 * What `chainsync/query` needs from a replica, as a small structural interface: the engine's
 * `Replica` satisfies it today, and the worker-hosted client will implement the same shape. Nothing
 * here imports the engine, so the query layer depends on no engine internals.
 */

/** A JSON value: what an object property may hold. */
export type QueryJsonValue =
  null | boolean | number | string | QueryJsonValue[] | { [key: string]: QueryJsonValue };

/** An object's properties, as the replica stores them. */
export type QueryProperties = Readonly<Record<string, QueryJsonValue>>;

/** Names one object of the replica. */
export interface QueryObjectRef {
  readonly collection: string;
  readonly id: string;
}

/** One object of a collection, as `list` returns it. */
export interface QueryStoredObject extends QueryObjectRef {
  readonly properties: QueryProperties;
}

/** One local change, as the replica's `change` takes it. */
export type QueryReplicaChange =
  | {
      readonly type: 'create';
      readonly collection: string;
      readonly id: string;
      readonly properties?: Record<string, QueryJsonValue>;
    }
  | {
      readonly type: 'update';
      readonly collection: string;
      readonly id: string;
      readonly properties: Record<string, QueryJsonValue | undefined>;
    }
  | { readonly type: 'delete'; readonly collection: string; readonly id: string };

/**
 * Which data changed, and why: a write of this tab (`local`), data a sync pulled or rebased
 * (`sync`), or a write another tab announced (`remote-tab` through `shareChangesAcrossTabs`,
 * `tab` from a replica that shares its tabs' writes itself, as `openReplica`'s does). `objects:
 * 'all'` means the whole data set may have changed (a snapshot replaced it).
 */
export interface QueryChangeEvent {
  readonly source: 'local' | 'sync' | 'tab' | 'remote-tab';
  readonly objects: readonly QueryObjectRef[] | 'all';
}

/** The replica, as `chainsync/query` uses it. Every method is promise-based (it may be remote). */
export interface QueryableReplica {
  /** The object's properties, or `null` if it does not exist. */
  get(collection: string, id: string): Promise<QueryProperties | null>;
  /** Every object of `collection`, ordered by id. */
  list(collection: string): Promise<readonly QueryStoredObject[]>;
  /** Applies `changes` in order, all or nothing, as one local commit. */
  change(changes: readonly QueryReplicaChange[]): Promise<void>;
  /** Calls `listener` after every change to the data; returns the unsubscribe function. */
  subscribe(listener: (event: QueryChangeEvent) => void): () => void;
  /** Reconciles with the remote chain. */
  sync(): Promise<unknown>;
}
