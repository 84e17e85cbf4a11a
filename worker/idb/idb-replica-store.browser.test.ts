import { replicaStoreConformance } from '../../src/testing/conformance/index.js';
import { freshIdbReplicaStore } from '../../src/test-support/idb-replica-store-harness.js';

// Chromium's real IndexedDB, called directly (the worker-hosted replica is tested in src/client/).
replicaStoreConformance('indexeddb', () => freshIdbReplicaStore('browser-replica'));
