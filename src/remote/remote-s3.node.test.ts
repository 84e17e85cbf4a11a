/**
 * The remote implementations on a real S3-compatible store: Ceph's RADOS Gateway on 127.0.0.1,
 * reached through a SigV4 signer (aws4fetch) and connectRemote, which adapts the backend to the
 * quirks its probe measures (unquoted If-Match, MD5 ETags, DELETE ignoring If-Match, 500 on a lost
 * race). Nothing here names the server: the adaptations come from the probe.
 */
import { casKvConformance, consensusConformance, storageConformance } from '../testing/conformance/index.js';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import { connectRemote } from './http/connect.js';
import type { HttpRemoteBackend } from './http/http-backend.js';
import {
  CEPH_CREDENTIALS,
  requireCeph,
  startCeph,
  type RunningServer,
} from '../test-support/interop-servers.js';
import { s3Fetch } from './http/s3-fetch.js';
import { RemoteCasKv } from './remote-cas-kv.js';
import { RemoteConsensus } from './remote-consensus.js';
import { RemoteStorage } from './remote-storage.js';

const missing = await requireCeph();

const signed = s3Fetch(CEPH_CREDENTIALS);

let ceph: (RunningServer & { endpoint: string }) | undefined;
let backend: HttpRemoteBackend;
let n = 0;
const prefix = (kind: string) => `${kind}/${++n}`;

// Real round trips to a distributed store: give the races room (no timing is asserted).
vi.setConfig({ testTimeout: 240_000 });

if (missing === null) {
  beforeAll(async () => {
    ceph = await startCeph();
    const bucket = `${ceph.endpoint}/chainsync-remote-${crypto.randomUUID().slice(0, 8)}`;
    const created = await signed(bucket, { method: 'PUT' });
    if (!created.ok) throw new Error(`creating bucket ${bucket}: ${created.status}`);
    backend = await connectRemote({ baseUrl: bucket, fetch: signed, list: 's3' });
  }, 180_000);
  afterAll(() => ceph?.stop());

  casKvConformance('remote-s3', () => new RemoteCasKv(backend, { prefix: prefix('kv') }), {
    writers: 4,
    rounds: 8,
  });
  consensusConformance('remote-s3', () => new RemoteConsensus(backend, { prefix: prefix('consensus') }), {
    writers: 4,
    rounds: 8,
  });
  storageConformance('remote-s3', () => new RemoteStorage(backend, { prefix: prefix('storage') }), {
    writers: 4,
    rounds: 15,
  });
} else {
  // Only outside CI and without root (requirePackages throws under CI=true): say why.
  describe('remote-s3 conformance', () => {
    it(`needs Ceph: ${missing}`, (ctx) => ctx.skip());
  });
}
