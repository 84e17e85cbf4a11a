/**
 * The compaction cases (remote-compaction.test.ts) again on a real S3-compatible store: Ceph's
 * RADOS Gateway on 127.0.0.1, whose DELETE ignores If-Match (compaction never relies on it),
 * reached through a SigV4 signer and connectRemote with S3 LIST.
 */
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { connectRemote } from './http/connect.js';
import { s3Fetch } from './http/s3-fetch.js';
import {
  CEPH_CREDENTIALS,
  requireCeph,
  startCeph,
  type RunningServer,
} from '../test-support/interop-servers.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';

const missing = await requireCeph();

// Real round trips to a distributed store: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 180_000 });

if (missing === null) {
  const signed = s3Fetch(CEPH_CREDENTIALS);
  let ceph: (RunningServer & { endpoint: string }) | undefined;

  beforeAll(async () => {
    ceph = await startCeph();
    const bucket = `${ceph.endpoint}/chainsync-compaction-${remoteSlot.run}`;
    const created = await signed(bucket, { method: 'PUT' });
    if (!created.ok) throw new Error(`creating bucket ${bucket}: ${created.status}`);
    remoteSlot.backend = await connectRemote({ baseUrl: bucket, fetch: signed, list: 's3' });
  }, 180_000);
  afterAll(() => {
    remoteSlot.backend = null;
    return ceph?.stop();
  });

  await import('./remote-compaction.test.js');
} else {
  // Only outside CI and without root (requirePackages throws under CI=true): say why.
  describe('compaction over Ceph RGW', () => {
    it(`needs Ceph: ${missing}`, (ctx) => ctx.skip());
  });
}
