/**
 * The remote blob GC cases (remote-blob-gc.test.ts) again on chainsync's reference server: a real
 * HTTP server on 127.0.0.1 (LIST, `Last-Modified` from the object file's write time).
 */
import { afterAll, vi } from 'vitest';
import { useReferenceServer } from '../test-support/live-backends.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';

// Real round trips on a loaded machine: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

useReferenceServer('blob-gc', (backend) => (remoteSlot.backend = backend));
afterAll(() => void (remoteSlot.backend = null));

await import('./remote-blob-gc.test.js');
