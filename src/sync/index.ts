/** The sync engine: replicas, operations, the sync loop, snapshots and end-to-end encryption. */
export { Replica, type ReplicaOptions } from './replica.js';
export { transform, rebase, type Overridden, type Rebased, type Transformed } from './transform.js';
export { Mutex } from './mutex.js';
export { applyOperation } from './working-set.js';
export {
  INITIAL_REPLICA_STATE,
  type ReplicaStore,
  type ReplicaState,
  type ReplicaWrite,
  type PendingOperation,
  type ShadowObject,
  type InFlightPush,
} from '../contracts/replica-store.js';
export { blobRef, isBlobRef, findBlobRefs } from './blob-ref.js';
export type { RemoteBlobStore } from './blobs.js';
export { PBKDF2_ITERATIONS } from './crypto.js';
export { DEFAULT_MAX_VERSION_BYTES } from './version-size.js';
export {
  DEFAULT_SNAPSHOT_POLICY,
  snapshotUrgency,
  type SnapshotPolicy,
  type SnapshotUrgency,
} from './snapshots.js';
export type {
  BlobRef,
  Change,
  CreateOperation,
  DeleteOperation,
  JsonValue,
  ObjectRef,
  Operation,
  Properties,
  ReplicaChangeEvent,
  SealedBlob,
  StoredObject,
  SyncOptions,
  SyncResult,
  UpdateOperation,
} from '../contracts/replica.js';
