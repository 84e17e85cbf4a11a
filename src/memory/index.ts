export { MemoryCasKv } from './memory-cas-kv.js';
export { MemoryConsensus } from './memory-consensus.js';
export { MemoryStorage } from './memory-storage.js';
export { MemoryBlobStorage, MemoryBlobReader } from './memory-blob-storage.js';
export { MemoryRemoteBackend, type MemoryRemoteBackendOptions } from './memory-remote-backend.js';
export { MemoryReplicaStore } from './memory-replica-store.js';
