/** The probe cache's cases on the worker's IndexedDB store, in every browser engine (real IndexedDB). */
import { probeCacheCases } from '../../src/test-support/probe-cache-cases.js';
import { IdbConnection } from './connection.js';
import { IdbProbeCacheStore } from './idb-probe-cache.js';

// Each page load opens its own connection to the store's database, as a reloaded worker does.
probeCacheCases('indexeddb', () => {
  const name = `chainsync:probe-cache-${crypto.randomUUID()}`;
  return () => new IdbProbeCacheStore(new IdbConnection(name));
});
