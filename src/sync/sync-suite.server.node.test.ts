/**
 * The sync suite (replica.test.ts, sync.test.ts, crypto.test.ts) again, with every chain those
 * suites keep kept instead by RemoteStorage on chainsync's reference server: a real HTTP server on
 * 127.0.0.1 writing to a real directory, reached through connectRemote. That includes the chains
 * the cases prune, tamper with, reorder, roll back or count reads of: they are damaged by rewriting
 * the server's objects (remote-control.ts). See src/sync/README.md.
 */
import { describe, expect, it, vi } from 'vitest';
import { useReferenceServer } from '../test-support/live-backends.js';
import { controlChainsOnRemote, remoteSlot } from '../test-support/remote-sync-suite.js';

vi.mock('../memory/memory-storage.js', async () => ({
  MemoryStorage: (await import('../test-support/remote-sync-suite.js')).SlotRemoteStorage,
}));

// Real round trips on a loaded machine: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

// The controllable chains copy and scan everything under their prefix: the backend can LIST.
useReferenceServer('sync-suite', (backend) => (remoteSlot.backend = backend));

controlChainsOnRemote();

await import('./replica.test.js');
await import('./sync.test.js');
await import('./crypto.test.js');

describe('sync suite over the reference server', () => {
  it('kept the chains of the cases above on the server, not in memory', () => {
    expect(remoteSlot.stores, 'the MemoryStorage mock did not take effect').toBeGreaterThan(0);
    expect(remoteSlot.controlled, 'the controllable chains stayed in memory').toBeGreaterThan(0);
  });
});
