import { casKvConformance, consensusConformance, storageConformance } from '../testing/conformance/index.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { RemoteConsensus } from './remote-consensus.js';
import { RemoteStorage } from './remote-storage.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { RemoteCasKv } from './remote-cas-kv.js';

// Each case gets a fresh store, but all of them share one backend under different prefixes, as
// stores share one bucket in production.
const shared = new MemoryRemoteBackend();
let n = 0;

// Writes held past the client's timeout and landing later, over the same backend.
const holding = new FaultyBackend(shared);
const retry = { delayMs: 0 };

casKvConformance('remote-memory', () => new RemoteCasKv(shared, { prefix: `kv/case${++n}` }), {
  heldWrites: () => ({
    store: new RemoteCasKv(holding, { prefix: `kv/case${++n}`, retry }),
    holds: holding.holds,
  }),
});
consensusConformance('remote-memory', () => new RemoteConsensus(shared, { prefix: `consensus/case${++n}` }), {
  heldWrites: () => ({
    store: new RemoteConsensus(holding, { prefix: `consensus/case${++n}`, retry }),
    holds: holding.holds,
  }),
});
// Storage must never LIST: it runs over the same backend with `list` hidden.
const withoutList = new FaultyBackend(shared, { withoutList: true });
storageConformance('remote-memory', () => new RemoteStorage(withoutList, { prefix: `storage/case${++n}` }), {
  heldWrites: () => ({
    store: new RemoteStorage(withoutList, { prefix: `storage/case${++n}`, retry }),
    holds: withoutList.holds,
  }),
});
