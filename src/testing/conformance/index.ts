/**
 * chainsync/testing/conformance: one Vitest suite per contract, taking a factory, so every
 * implementation — chainsync's own and yours — runs the very same cases. `vitest` (4.x) is an
 * optional peer dependency of this subpath.
 * @module chainsync/testing/conformance
 */
export { casKvConformance, type CasKvConformanceOptions } from './cas-kv.js';
export { consensusConformance, type ConsensusConformanceOptions } from './consensus.js';
export { storageConformance, type StorageConformanceOptions } from './storage.js';
export { blobStorageConformance } from './blob-storage.js';
export {
  atomicRemoteBackendConformance,
  type AtomicRemoteBackendConformanceOptions,
} from './atomic-remote-backend.js';
export type { Factory, HeldWritesHarness } from './support.js';
export { replicaStoreConformance, type ReplicaStoreHarness } from './replica-store.js';
