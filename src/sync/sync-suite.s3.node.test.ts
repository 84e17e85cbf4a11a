/**
 * The sync suite (replica.test.ts, sync.test.ts, crypto.test.ts) again, with every chain those
 * suites keep kept instead by RemoteStorage on a real S3-compatible store: Ceph's RADOS Gateway on
 * 127.0.0.1, reached through a SigV4 signer (aws4fetch) and connectRemote, which adapts to the
 * quirks its probe measures. That includes the chains the cases prune, tamper with, reorder, roll
 * back or count reads of: they are damaged by rewriting the bucket's objects (remote-control.ts).
 * See src/sync/README.md.
 */
import { describe, expect, it, vi } from 'vitest';
import { requireCeph } from '../test-support/interop-servers.js';
import { useCephBucket } from '../test-support/live-backends.js';
import { controlChainsOnRemote, remoteSlot } from '../test-support/remote-sync-suite.js';

vi.mock('../memory/memory-storage.js', async () => ({
  MemoryStorage: (await import('../test-support/remote-sync-suite.js')).SlotRemoteStorage,
}));

const missing = await requireCeph();

// Real round trips to a distributed store: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 180_000 });

if (missing === null) {
  // The controllable chains copy and scan everything under their prefix: the backend can LIST.
  useCephBucket('sync-suite', (backend) => (remoteSlot.backend = backend));

  controlChainsOnRemote();

  await import('./replica.test.js');
  await import('./sync.test.js');
  await import('./crypto.test.js');

  describe('sync suite over Ceph RGW', () => {
    it('kept the chains of the cases above in the bucket, not in memory', () => {
      expect(remoteSlot.stores, 'the MemoryStorage mock did not take effect').toBeGreaterThan(0);
      expect(remoteSlot.controlled, 'the controllable chains stayed in memory').toBeGreaterThan(0);
    });
  });
} else {
  // Only outside CI and without root (requirePackages throws under CI=true): say why.
  describe('sync suite over Ceph RGW', () => {
    it(`needs Ceph: ${missing}`, (ctx) => ctx.skip());
  });
}
