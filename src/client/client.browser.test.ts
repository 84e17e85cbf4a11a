import {
  blobStorageConformance,
  casKvConformance,
  consensusConformance,
  storageConformance,
} from '../testing/conformance/index.js';
import { afterEach } from 'vitest';
import { openStore, type ChainsyncStore } from './index.js';

// The conformance suites through the whole browser stack: main thread → comlink → module worker
// (the default one shipped with the package) → Chromium's IndexedDB.
const open: ChainsyncStore[] = [];
async function fresh(): Promise<ChainsyncStore> {
  const store = await openStore(`conf-${crypto.randomUUID()}`);
  open.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

casKvConformance('indexeddb', async () => (await fresh()).kv);
consensusConformance('indexeddb', async () => (await fresh()).consensus);
storageConformance('indexeddb', async () => (await fresh()).storage);
blobStorageConformance('indexeddb', async () => (await fresh()).blobs);
