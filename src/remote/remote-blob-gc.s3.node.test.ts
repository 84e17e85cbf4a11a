/**
 * The remote blob GC cases (remote-blob-gc.test.ts) again on a real S3-compatible store: Ceph's
 * RADOS Gateway on 127.0.0.1, whose DELETE ignores If-Match (blob GC never relies on it), reached
 * through a SigV4 signer and connectRemote with S3 LIST.
 */
import { afterAll, describe, it, vi } from 'vitest';
import { requireCeph } from '../test-support/interop-servers.js';
import { useCephBucket } from '../test-support/live-backends.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';

const missing = await requireCeph();

// Real round trips to a distributed store: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 180_000 });

if (missing === null) {
  useCephBucket('blob-gc', (backend) => (remoteSlot.backend = backend));
  afterAll(() => void (remoteSlot.backend = null));
  await import('./remote-blob-gc.test.js');
} else {
  // Only outside CI and without root (requirePackages throws under CI=true): say why.
  describe('remote blob GC over Ceph RGW', () => {
    it(`needs Ceph: ${missing}`, (ctx) => ctx.skip());
  });
}
