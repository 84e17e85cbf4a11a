import {
  blobStorageConformance,
  casKvConformance,
  consensusConformance,
  storageConformance,
} from '../../src/testing/conformance/index.js';
import { openIdbStore } from './index.js';

// The engine on Chromium's real IndexedDB, called directly (the worker run is in src/client/).
const fresh = () => openIdbStore(`direct-${crypto.randomUUID()}`);

casKvConformance('indexeddb direct', () => fresh().kv);
consensusConformance('indexeddb direct', () => fresh().consensus);
storageConformance('indexeddb direct', () => fresh().storage);
blobStorageConformance('indexeddb direct', () => fresh().blobs);
