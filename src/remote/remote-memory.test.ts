import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { casKvConformance } from '../testing/index.js';
import { RemoteCasKv } from './remote-cas-kv.js';

// Each case gets a fresh store, but all of them share one backend under different prefixes, as
// stores share one bucket in production.
const shared = new MemoryRemoteBackend();
let n = 0;

casKvConformance('remote-memory', () => new RemoteCasKv(shared, { prefix: `kv/case${++n}` }));
