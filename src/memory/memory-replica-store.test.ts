import { replicaStoreConformance } from '../testing/conformance/index.js';
import { MemoryReplicaStore } from './memory-replica-store.js';

// The reference store runs the same suite as the IndexedDB one (no reload: it keeps nothing).
replicaStoreConformance('memory', () => ({ store: new MemoryReplicaStore() }));
