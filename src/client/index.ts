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
export { requestPersistence } from './persistence.js';
export { LeaderElection } from '../../worker/multitab/leader.js';
export { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';
export type { ReplicaCloseReason } from './client-replica.js';
export { deleteReplicaData, type DeleteLocalDataOptions } from './delete-replica-data.js';
export type { SyncSchedule } from '../core/sync-scheduler.js';
