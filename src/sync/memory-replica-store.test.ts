import { MemoryReplicaStore } from './memory-replica-store.js';
import { replicaStoreConformance } from './replica-store-conformance.js';

replicaStoreConformance('memory', () => new MemoryReplicaStore());
