import {
  blobStorageConformance,
  casKvConformance,
  consensusConformance,
  storageConformance,
} from '../../src/testing/conformance/index.js';
import 'fake-indexeddb/auto';
import { openIdbStore } from './index.js';

/** A fresh database per case, so cases never share state. */
const fresh = () => openIdbStore(`node-${crypto.randomUUID()}`);

casKvConformance('indexeddb', () => fresh().kv);
consensusConformance('indexeddb', () => fresh().consensus);
storageConformance('indexeddb', () => fresh().storage);
blobStorageConformance('indexeddb', () => fresh().blobs);
