/**
 * The probe cache over the memory store (Node and Chromium); the worker's IndexedDB store runs the
 * same cases in worker/idb. Also: its options are checked before anything is sent.
 */
import { describe, expect, it } from 'vitest';
import { probeCacheCases } from '../../test-support/probe-cache-cases.js';
import { rejectsWith } from '../../testing/conformance/support.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { connectRemote } from './connect.js';
import { MemoryProbeCacheStore } from './probe-cache.js';

probeCacheCases('memory', () => {
  const memory = new MemoryProbeCacheStore();
  return () => memory;
});

describe('probe cache options', () => {
  const server = createObjectServer({ baseUrl: 'https://checked.test/store' });
  const base = { baseUrl: server.baseUrl, fetch: inProcessFetch(server.handlers) };

  it('refuses a store without get/put/delete, a bad ttlMs or identity, before sending anything', async () => {
    const store = new MemoryProbeCacheStore();
    const bad = [
      { store: {} as MemoryProbeCacheStore },
      { store, ttlMs: 0 },
      { store, identity: [1] as unknown as string[] },
    ];
    for (const probeCache of bad) {
      await rejectsWith(connectRemote({ ...base, probeCache }), 'INVALID_ARGUMENT');
    }
    expect(server.requests).toEqual([]);
  });
});
