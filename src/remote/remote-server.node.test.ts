/**
 * The remote implementations and the HTTP backend against chainsync's reference server, a real
 * HTTP server on 127.0.0.1 writing to a real directory, reached through connectRemote (which
 * probes it first).
 */
import {
  atomicRemoteBackendConformance,
  casKvConformance,
  consensusConformance,
  storageConformance,
} from '../testing/conformance/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { startServer, type RunningServer } from '../server/index.js';
import { holdingFetch } from '../testing/held-writes.js';
import { connectRemote, probeOnce } from './http/connect.js';
import { HttpRemoteBackend } from './http/http-backend.js';
import { RemoteCasKv } from './remote-cas-kv.js';
import { RemoteConsensus } from './remote-consensus.js';
import { RemoteStorage } from './remote-storage.js';

let server: RunningServer;
let dir: string;
let backend: HttpRemoteBackend;
/** The same server through a fetch that can hold a write past the client's timeout. */
const held = holdingFetch((input, init) => globalThis.fetch(input, init));
let holding: HttpRemoteBackend;
let n = 0;
const auth = { authorization: 'Bearer conformance-token' };

// Real round trips under a loaded CI machine: give the races room (no timing is asserted).
vi.setConfig({ testTimeout: 180_000 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-remote-server-'));
  server = await startServer({ dir, port: 0, token: 'conformance-token' });
  backend = await connectRemote({ baseUrl: server.url, headers: auth, list: 'json' });
  holding = new HttpRemoteBackend({
    baseUrl: server.url,
    headers: auth,
    list: 'json',
    quirks: backend.quirks,
    fetch: held.fetch,
  });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

// Every case works under its own prefix of the one server, as stores share one server in use.
const prefix = (kind: string) => `${kind}/${++n}`;
// The backend suite needs a fresh namespace per case: same server, same probe result, new base URL.
// The server lists from its root only, so these scoped backends do not list; the root backend that
// CasKv and Consensus use below does.
const scoped = async () => {
  const { quirks } = await probeOnce({ baseUrl: server.url, headers: auth });
  return new HttpRemoteBackend({
    baseUrl: `${server.url}${prefix('backend')}/`,
    headers: auth,
    quirks,
  });
};

atomicRemoteBackendConformance('remote-server', scoped, {
  writers: 16,
  heldWrites: async () => {
    const { quirks } = await probeOnce({ baseUrl: server.url, headers: auth });
    const own = holdingFetch((input, init) => globalThis.fetch(input, init));
    const store = new HttpRemoteBackend({
      baseUrl: `${server.url}${prefix('backend')}/`,
      headers: auth,
      quirks,
      fetch: own.fetch,
    });
    return { store, holds: own.holds };
  },
});
// Real round trips (7-20 ms each here): the races are smaller than over memory, the chain is whole.
const retry = { delayMs: 0 };
casKvConformance('remote-server', () => new RemoteCasKv(backend, { prefix: prefix('kv') }), {
  writers: 4,
  rounds: 10,
  heldWrites: () => ({ store: new RemoteCasKv(holding, { prefix: prefix('kv'), retry }), holds: held.holds }),
});
consensusConformance('remote-server', () => new RemoteConsensus(backend, { prefix: prefix('consensus') }), {
  writers: 4,
  rounds: 10,
  heldWrites: () => ({
    store: new RemoteConsensus(holding, { prefix: prefix('consensus'), retry }),
    holds: held.holds,
  }),
});
storageConformance('remote-server', () => new RemoteStorage(backend, { prefix: prefix('storage') }), {
  writers: 4,
  rounds: 25,
  heldWrites: () => ({
    store: new RemoteStorage(holding, { prefix: prefix('storage'), retry }),
    holds: held.holds,
  }),
});
