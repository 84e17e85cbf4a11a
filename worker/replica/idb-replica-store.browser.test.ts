import { replicaStoreConformance } from '../../src/testing/index.js';
import { freshIdbReplicaStore } from './harness.js';

// Chromium's real IndexedDB, called directly (the worker-hosted replica is tested in src/client/).
replicaStoreConformance('indexeddb', () => freshIdbReplicaStore('browser-replica'));
