/** The sync engine: replicas, operations, the sync loop, snapshots and end-to-end encryption. */
export { Replica, type Change, type ReplicaChangeEvent, type ReplicaOptions } from './replica.js';
export type { SyncOptions, SyncResult } from './sync.js';
export {
  type JsonValue,
  type ObjectRef,
  type Operation,
  type CreateOperation,
  type DeleteOperation,
  type UpdateOperation,
  type Properties,
} from './operations.js';
export { transform, rebase } from './transform.js';
export { applyOperation } from './working-set.js';
export {
  INITIAL_REPLICA_STATE,
  type ReplicaStore,
  type ReplicaState,
  type ReplicaWrite,
  type PendingOperation,
  type ShadowObject,
  type StoredObject,
  type InFlightPush,
} from './replica-store.js';
export { MemoryReplicaStore } from './memory-replica-store.js';
export { blobRef, isBlobRef, findBlobRefs, type BlobRef, type SealedBlob } from './blob-ref.js';
export type { RemoteBlobStore } from './blobs.js';
export { PBKDF2_ITERATIONS } from './crypto.js';
export {
  DEFAULT_SNAPSHOT_POLICY,
  snapshotUrgency,
  type SnapshotPolicy,
  type SnapshotUrgency,
} from './snapshots.js';
