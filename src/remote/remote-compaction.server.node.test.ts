/**
 * The compaction cases (remote-compaction.test.ts) again on chainsync's reference server: a real
 * HTTP server on 127.0.0.1 writing to a real directory, reached through connectRemote with LIST
 * (the cases count what is left).
 */
import { afterAll, vi } from 'vitest';
import { useReferenceServer } from '../test-support/live-backends.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';

// Real round trips on a loaded machine: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

useReferenceServer('compaction', (backend) => (remoteSlot.backend = backend));
afterAll(() => void (remoteSlot.backend = null));

await import('./remote-compaction.test.js');
