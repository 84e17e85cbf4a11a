import {
  atomicRemoteBackendConformance,
  blobStorageConformance,
  casKvConformance,
  consensusConformance,
  storageConformance,
} from '../testing/conformance/index.js';
import {
  MemoryBlobStorage,
  MemoryCasKv,
  MemoryConsensus,
  MemoryRemoteBackend,
  MemoryStorage,
} from './index.js';

casKvConformance('memory', () => new MemoryCasKv());
consensusConformance('memory', () => new MemoryConsensus());
storageConformance('memory', () => new MemoryStorage());
blobStorageConformance('memory', () => new MemoryBlobStorage());
atomicRemoteBackendConformance('memory', () => new MemoryRemoteBackend());
