/**
 * The main-thread client: opens a store in its engine worker and hands out typed access to every
 * contract. Exported from `chainsync`.
 */
export {
  openStore,
  defaultWorker,
  type ChainsyncStore,
  type Leadership,
  type OpenStoreOptions,
} from './open-store.js';
export { ClientBlobReader, ClientBlobStorage, type BrowserGarbageOptions } from './client-blob-storage.js';
export type { BatchCasKv, KvOp, KvOpResult } from '../../worker/idb/idb-cas-kv.js';
export { requestPersistence } from './persistence.js';
export { LeaderElection } from '../../worker/multitab/leader.js';
export {
  openReplica,
  type OpenReplicaOptions,
  type ReplicaClient,
  type ReplicaChange,
  type ReplicaEvent,
  type ReplicaInspection,
  type ReplicaStatus,
  type SyncProgress,
  type RemoteConfig,
  type HttpRemoteConfig,
  type S3RemoteConfig,
  type SyncSchedule,
} from './open-replica.js';
