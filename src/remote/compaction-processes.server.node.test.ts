/**
 * Compaction across real processes (src/test-support/compaction-processes.ts) on chainsync's
 * reference server: compactors are child Node processes running the built library against a
 * server on 127.0.0.1. Needs `npm run build` first (npm test does).
 */
import { vi } from 'vitest';
import { compactionProcessCases, type LiveRemote } from '../test-support/compaction-processes.js';
import { useReferenceServer } from '../test-support/live-backends.js';

// Real processes and round trips on a loaded machine: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 180_000 });

const live: LiveRemote = { backend: null, connection: null };
useReferenceServer('compaction-processes', (backend, connection) => {
  live.backend = backend;
  live.connection = connection;
});
compactionProcessCases(live);
