/**
 * The remote implementations over HTTP, against the msw object server through an in-process
 * fetch: the same conformance suites as over memory, on real Request/Response/Headers, in Node
 * and in Chromium.
 */
import { casKvConformance, consensusConformance, storageConformance } from '../testing/conformance/index.js';
import { describe, expect, it } from 'vitest';
import { NIL_UUID } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { holdingFetch } from '../testing/held-writes.js';
import { createObjectServer, inProcessFetch } from '../testing/msw/index.js';
import { HttpRemoteBackend } from './http/http-backend.js';
import { RemoteCasKv } from './remote-cas-kv.js';
import { RemoteConsensus } from './remote-consensus.js';
import { RemoteStorage } from './remote-storage.js';

const server = createObjectServer({ baseUrl: 'https://objects.test/bucket' });
// No `list` dialect: Storage must work without LIST; CasKv lists, so it gets a listing backend.
const backend = new HttpRemoteBackend({ baseUrl: server.baseUrl, fetch: inProcessFetch(server.handlers) });
const listing = new HttpRemoteBackend({
  baseUrl: server.baseUrl,
  list: 'json',
  fetch: inProcessFetch(server.handlers),
});
let n = 0;

// The same server through a fetch that can hold a write past the client's timeout and land it later.
const held = holdingFetch(inProcessFetch(server.handlers));
const holding = new HttpRemoteBackend({ baseUrl: server.baseUrl, list: 'json', fetch: held.fetch });
const retry = { delayMs: 0 };

casKvConformance('remote-msw', () => new RemoteCasKv(listing, { prefix: `kv/${++n}` }), {
  heldWrites: () => ({ store: new RemoteCasKv(holding, { prefix: `kv/${++n}`, retry }), holds: held.holds }),
});
consensusConformance('remote-msw', () => new RemoteConsensus(listing, { prefix: `consensus/${++n}` }), {
  heldWrites: () => ({
    store: new RemoteConsensus(holding, { prefix: `consensus/${++n}`, retry }),
    holds: held.holds,
  }),
});
storageConformance('remote-msw', () => new RemoteStorage(backend, { prefix: `storage/${++n}` }), {
  heldWrites: () => ({
    store: new RemoteStorage(holding, { prefix: `storage/${++n}`, retry }),
    holds: held.holds,
  }),
});

describe('over HTTP with msw’s applied-then-dropped fault', () => {
  // Every third write is applied by the server and then its connection drops: the client sees an
  // indeterminate failure and must settle it by reading back, never by a blind retry.
  let dropped = 0;
  const dropEveryThirdPut = (i: number) => {
    if (i % 3 !== 0) return;
    server.inject({ kind: 'drop', method: 'PUT', applied: true });
    dropped++;
  };
  // Each queued fault must really have hit a write (none left over, none skipped).
  const expectAllDropsFired = () => {
    expect(server.pendingFaults()).toBe(0);
    expect(dropped).toBeGreaterThan(5);
  };

  it('a CasKv client loses and duplicates no write', async () => {
    const kv = new RemoteCasKv(listing, { prefix: `faults/kv/${++n}`, retry: { delayMs: 0 } });
    await kv.create('log', utf8('[]'));
    const rounds = 30;
    for (let i = 0; i < rounds; i++) {
      const current = (await kv.get('log'))!;
      const log = JSON.parse(fromUtf8(current.value)) as number[];
      dropEveryThirdPut(i);
      await kv.update('log', utf8(JSON.stringify([...log, i])), current.version);
    }
    expectAllDropsFired();
    const log = JSON.parse(fromUtf8((await kv.get('log'))!.value)) as number[];
    expect(log).toEqual(Array.from({ length: rounds }, (_, i) => i));
  });

  it('a Storage client loses and duplicates no version', async () => {
    const storage = new RemoteStorage(backend, { prefix: `faults/storage/${++n}`, retry: { delayMs: 0 } });
    const client = crypto.randomUUID();
    let txn = await storage.txn(client);
    await txn.newClient(NIL_UUID);
    await txn.commit();
    const ids: string[] = [];
    let parent = NIL_UUID;
    for (let i = 0; i < 20; i++) {
      txn = await storage.txn(client);
      const id = crypto.randomUUID();
      await txn.addVersion(id, parent, utf8(`segment ${i}`));
      dropEveryThirdPut(i);
      await txn.commit();
      ids.push(id);
      parent = id;
    }
    expectAllDropsFired();
    const chain = await (await storage.txn(client)).getVersionsAfter(NIL_UUID, 100);
    expect(chain.map((v) => v.versionId)).toEqual(ids);
    expect(chain.map((v) => fromUtf8(v.historySegment))).toEqual(ids.map((_, i) => `segment ${i}`));
  });
});
