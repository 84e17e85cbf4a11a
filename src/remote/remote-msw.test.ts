/**
 * The remote implementations over HTTP, against the msw object server through an in-process
 * fetch: the same conformance suites as over memory, on real Request/Response/Headers, in Node
 * and in Chromium.
 */
import { casKvConformance, consensusConformance, storageConformance } from '../testing/index.js';
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

casKvConformance('remote-msw', () => new RemoteCasKv(listing, { prefix: `kv/${++n}` }));
consensusConformance('remote-msw', () => new RemoteConsensus(listing, { prefix: `consensus/${++n}` }));
storageConformance('remote-msw', () => new RemoteStorage(backend, { prefix: `storage/${++n}` }));
