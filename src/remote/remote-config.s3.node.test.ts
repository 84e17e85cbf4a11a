/**
 * The worker-hosted replica's S3 remote on a real S3-compatible store: Ceph's RADOS Gateway on
 * 127.0.0.1. `openRemote({ kind: 's3', … })` is all the replicas get (as the worker does), so this
 * covers the config's path-style addressing, SigV4 signing, and the probe adapting to RGW's quirks.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryBlobStorage } from '../memory/memory-blob-storage.js';
import {
  CEPH_CREDENTIALS,
  requireCeph,
  startCeph,
  type CephServer,
} from '../test-support/interop-servers.js';
import { s3Fetch } from './http/s3-fetch.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from '../sync/replica.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { openRemote, type S3FixedKeysConfig, type S3RemoteConfig } from './remote-config.js';

const missing = await requireCeph();

// Real round trips to a distributed store: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

let ceph: CephServer | undefined;
const bucket = `chainsync-worker-${crypto.randomUUID().slice(0, 8)}`;

if (missing === null) {
  beforeAll(async () => {
    ceph = await startCeph();
    const created = await s3Fetch(CEPH_CREDENTIALS)(`${ceph.endpoint}/${bucket}`, { method: 'PUT' });
    if (!created.ok) throw new Error(`creating bucket ${bucket}: ${created.status}`);
  }, 180_000);
  afterAll(() => ceph?.stop());
}

function config(prefix: string): S3FixedKeysConfig {
  return { kind: 's3', endpoint: ceph!.endpoint, bucket, ...CEPH_CREDENTIALS, prefix };
}

/** One device: its own local store and blob storage, the remote only through the serializable config. */
async function device(remote: S3RemoteConfig, clientId: string) {
  const { storage, kv, blobs: remoteBlobs } = openRemote(remote);
  return Replica.open({
    store: new MemoryReplicaStore(),
    storage,
    kv,
    clientId,
    secret: 'passphrase',
    testOnlyPbkdf2Iterations: 1_000,
    blobs: new MemoryBlobStorage(),
    remoteBlobs,
  });
}

describe.skipIf(missing !== null)("openRemote({ kind: 's3' }) on Ceph RGW", () => {
  it('two replicas sync through the bucket to the same state, blobs included', async () => {
    const clientId = crypto.randomUUID();
    const remote = config(`set-${clientId}`);
    const a = await device(remote, clientId);
    const b = await device(remote, clientId);
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
    const photo = await a.putBlob(bytes, 'image/png');
    await a.create('todos', 'from-a', { title: 'A', photo: photo as never });
    await b.create('todos', 'from-b', { title: 'B' });
    await a.sync();
    await b.sync();
    await b.update('todos', 'from-a', { title: 'A, edited on B' });
    await b.sync();
    await a.sync();
    expect(await a.pendingCount()).toBe(0);
    expect(await b.pendingCount()).toBe(0);
    expect(await b.list('todos')).toEqual(await a.list('todos'));
    expect(await a.get('todos', 'from-a')).toEqual({ title: 'A, edited on B', photo });
    expect(await b.getBlob(photo)).toEqual(bytes);

    // The objects are in the bucket, under the prefix, and sealed: the plaintext never appears.
    const listing = await s3Fetch(CEPH_CREDENTIALS)(
      `${ceph!.endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(remote.prefix + '/')}`,
      { method: 'GET' },
    );
    const xml = await listing.text();
    expect(xml).toContain(`<Key>${remote.prefix}/chain/`);
    expect(xml).toContain(`<Key>${remote.prefix}/blobs/${photo.sealed!.remote}</Key>`);
    expect(xml).not.toContain(photo.$blob);
  });

  it('wrong credentials fail the sync with UNAUTHORIZED and change nothing locally', async () => {
    const clientId = crypto.randomUUID();
    const r = await device({ ...config(`set-${clientId}`), secretAccessKey: 'not-the-secret' }, clientId);
    await r.create('todos', 'x', { title: 'kept' });
    await rejectsWith(r.sync(), 'UNAUTHORIZED');
    expect(await r.get('todos', 'x')).toEqual({ title: 'kept' });
    expect(await r.pendingCount()).toBe(2);
  });

  // Credentials that expire (issue 15 item 10), on a real store: the key the function hands out is
  // rotated mid-sync (a new key made, the old one deleted), as a deployment rotates keys.
  it('a credentials function: a key rotated between syncs is replaced, the refused request resent', async () => {
    const admin = ceph!.admin;
    const key = (n: number) => ({
      accessKeyId: `rotated${n}${bucket.slice(-8)}`,
      secretAccessKey: `rotated-secret-${n}`,
    });
    const create = (n: number) =>
      admin(
        'key',
        'create',
        '--uid=test',
        '--key-type=s3',
        `--access-key=${key(n).accessKeyId}`,
        `--secret-key=${key(n).secretAccessKey}`,
      );
    await create(1);
    let current = key(1);
    let calls = 0;
    const clientId = crypto.randomUUID();
    const remote: S3RemoteConfig = {
      kind: 's3',
      endpoint: ceph!.endpoint,
      bucket,
      region: 'us-east-1',
      prefix: `rotated-${clientId}`,
      credentials: () => {
        calls++;
        return current;
      },
    };
    const a = await device(remote, clientId);
    await a.create('todos', 'x', { title: 'before the rotation' });
    await a.sync();
    expect(calls).toBe(1);

    await create(2);
    current = key(2);
    await admin('key', 'rm', '--uid=test', '--key-type=s3', `--access-key=${key(1).accessKeyId}`);
    await a.update('todos', 'x', { title: 'after the rotation' });
    await a.sync();
    // Key 1 was refused (InvalidAccessKeyId) once; the function was asked once more, for key 2.
    expect(calls).toBe(2);
    expect(await a.pendingCount()).toBe(0);

    const b = await device(remote, clientId);
    await b.sync();
    expect(await b.get('todos', 'x')).toEqual({ title: 'after the rotation' });
  });
});

if (missing !== null) {
  // Only outside CI and without root (requirePackages throws under CI=true): say why.
  describe("openRemote({ kind: 's3' }) on Ceph RGW", () => {
    it(`needs Ceph: ${missing}`, (ctx) => ctx.skip());
  });
}
