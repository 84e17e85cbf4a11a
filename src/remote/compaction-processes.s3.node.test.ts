/**
 * Compaction across real processes (src/test-support/compaction-processes.ts) on Ceph's RADOS
 * Gateway, whose DELETE ignores If-Match (compaction never relies on it): compactors are child Node
 * processes running the built library through a SigV4 signer. Needs `npm run build` first.
 */
import { describe, it, vi } from 'vitest';
import { compactionProcessCases, type LiveRemote } from '../test-support/compaction-processes.js';
import { requireCeph } from '../test-support/interop-servers.js';
import { useCephBucket } from '../test-support/live-backends.js';

const missing = await requireCeph();

// Real processes and round trips to a distributed store: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 300_000 });

if (missing === null) {
  const live: LiveRemote = { backend: null, connection: null };
  useCephBucket('compaction-processes', (backend, connection) => {
    live.backend = backend;
    live.connection = connection;
  });
  compactionProcessCases(live);
} else {
  // Only outside CI and without root (requirePackages throws under CI=true): say why.
  describe('compaction across processes over Ceph RGW', () => {
    it(`needs Ceph: ${missing}`, (ctx) => ctx.skip());
  });
}
