import type { BlobRef } from '../contracts/replica.js';
import { BLOB_REFRESH_AGE_MS } from '../contracts/blob-storage.js';
import { describe, expect, it } from 'vitest';
import type { ConditionalPut, ObjectVersion } from '../contracts/remote-backend.js';
import { ContentNotFoundError, IndeterminateRemoteError, InvalidArgumentError } from '../contracts/errors.js';
import { contentIdOf } from '../core/content-id.js';
import { MemoryBlobStorage } from '../memory/memory-blob-storage.js';
import { MemoryCasKv } from '../memory/memory-cas-kv.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { RemoteBlobs } from '../remote/remote-blobs.js';
import { blobRef, findBlobRefs, isBlobRef } from './blob-ref.js';
import type { RemoteBlobStore } from './blobs.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from './replica.js';

/** A bucket that counts blob downloads and records every blob upload's condition. */
class CountingBackend extends MemoryRemoteBackend {
  downloads = 0;
  readonly uploads: { key: string; condition: ConditionalPut | 'unconditional' }[] = [];
  override async download(key: string): Promise<Uint8Array | null> {
    if (key.startsWith('blobs/')) this.downloads++;
    return super.download(key);
  }
  override async upload(key: string, data: Uint8Array): Promise<void> {
    if (key.startsWith('blobs/')) this.uploads.push({ key, condition: 'unconditional' });
    return super.upload(key, data);
  }
  override async uploadConditional(
    key: string,
    data: Uint8Array,
    condition: ConditionalPut,
  ): Promise<ObjectVersion> {
    if (key.startsWith('blobs/')) this.uploads.push({ key, condition });
    return super.uploadConditional(key, data, condition);
  }
}

/** Replicas of one data set with blobs; `clock`, when given, is the server's, the blob store's and the replicas'. */
function setup(secret?: string, clock?: () => number) {
  const storage = new MemoryStorage();
  const kv = new MemoryCasKv();
  const bucket = new CountingBackend(clock ? { now: clock } : {});
  const clientId = crypto.randomUUID();
  const open = (
    remote: RemoteBlobStore = new RemoteBlobs(bucket, { prefix: 'blobs', ...(clock ? { now: clock } : {}) }),
    blobs = new MemoryBlobStorage(),
    store = new MemoryReplicaStore(),
  ) => {
    return Replica.open({
      store,
      storage,
      clientId,
      kv,
      blobs,
      remoteBlobs: remote,
      ...(clock ? { clock } : {}),
      ...(secret === undefined ? {} : { secret, testOnlyPbkdf2Iterations: 1000 }),
    }).then((replica) => ({ replica, blobs, store }));
  };
  return { bucket, open };
}

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe('Blob references', () => {
  it('builds, recognises and finds references, rejecting malformed ones', async () => {
    const id = await contentIdOf(bytes(3, 1));
    const ref = blobRef(id, 3, 'image/png');
    expect(ref).toEqual({ $blob: id, size: 3, type: 'image/png' });
    expect(isBlobRef(JSON.parse(JSON.stringify(ref)))).toBe(true);
    expect(isBlobRef({ $blob: id, size: 3, extra: 1 })).toBe(false);
    expect(isBlobRef({ $blob: 'abc', size: 3 })).toBe(false);
    expect(isBlobRef({ $blob: id, size: -1 })).toBe(false);
    expect(findBlobRefs({ a: [1, { b: ref }], c: ref } as never)).toEqual([ref, ref]);
    expect(() => blobRef(id, 1.5)).toThrow(InvalidArgumentError);
  });

  it('validates the blob options and refuses blob calls without a BlobStorage', async () => {
    const store = new MemoryReplicaStore();
    await expect(Replica.open({ store, blobs: {} as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      Replica.open({ store, blobs: new MemoryBlobStorage(), remoteBlobs: { put: 1 } as never }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    const remote = new RemoteBlobs(new MemoryRemoteBackend(), { prefix: 'b' });
    await expect(
      Replica.open({ store, blobs: new MemoryBlobStorage(), remoteBlobs: remote }),
    ).rejects.toBeInstanceOf(InvalidArgumentError); // remote blobs without a remote chain
    const plain = await Replica.open({ store });
    expect(() => plain.putBlob(bytes(1, 1))).toThrow(InvalidArgumentError);
    const local = await Replica.open({ store, blobs: new MemoryBlobStorage() });
    await expect(local.putBlob('text' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('Replica blobs', () => {
  it('uploads with the referencing version, and another replica downloads lazily and verified', async () => {
    const { bucket, open } = setup();
    const { replica: a } = await open();
    const data = bytes(50_000, 3);
    const ref = await a.putBlob(data, 'application/octet-stream');
    expect(ref.$blob).toBe(await contentIdOf(data));
    await a.create('files', 'f', { name: 'x.bin', content: ref as never });
    expect(bucket.uploads).toEqual([]); // nothing remote before sync
    await a.sync();
    expect(bucket.uploads).toEqual([{ key: `blobs/${ref.$blob}`, condition: { ifAbsent: true } }]);

    const { replica: b, blobs: bLocal } = await open();
    await b.sync();
    expect((await b.get('files', 'f'))?.content).toEqual(ref);
    expect(bucket.downloads).toBe(0); // lazy: nothing fetched by sync
    const [first, second] = await Promise.all([b.getBlob(ref.$blob), b.getBlob(ref)]);
    expect(first).toEqual(data);
    expect(second).toEqual(data);
    expect(bucket.downloads).toBe(1); // concurrent reads share one download
    expect(await b.getBlob(ref)).toEqual(data);
    expect(bucket.downloads).toBe(1); // the second read is local
    expect(await bLocal.getData(ref.$blob, { id: 'x', pid: 'test' })).toEqual(data);
    expect((await b.collectBlobGarbage()).deleted).toEqual([]); // leased while referenced
  });

  it('a push makes the blobs it relies on young: one found old is uploaded again, held or not', async () => {
    const time = { now: Date.now() };
    const { bucket, open } = setup(undefined, () => time.now);
    const { replica: a } = await open();
    const { replica: b } = await open();
    const data = bytes(1000, 5);
    const ref = await a.putBlob(data);
    const key = `blobs/${ref.$blob}`;
    await a.create('files', 'a', { content: ref as never });
    await a.sync();
    // Past the refresh age, A's check of its upload has expired: it finds the blob old and uploads
    // the same bytes again, unconditionally, so the GC (grace at least twice that) cannot take it.
    time.now += BLOB_REFRESH_AGE_MS + 1000;
    await a.update('files', 'a', { copy: ref as never });
    await a.sync();
    expect(bucket.uploads).toEqual([
      { key, condition: { ifAbsent: true } },
      { key, condition: 'unconditional' },
    ]);
    // B copies the reference without holding the bytes: young, it relies on it as it is ...
    await b.sync();
    await b.create('files', 'b', { content: ref as never });
    await b.sync();
    expect(bucket.uploads).toHaveLength(2);
    expect(bucket.downloads).toBe(0);
    // ... old, it downloads it (verified) and uploads it again.
    time.now += BLOB_REFRESH_AGE_MS + 1000;
    await b.create('files', 'c', { content: ref as never });
    await b.sync();
    expect(bucket.uploads).toEqual([
      { key, condition: { ifAbsent: true } },
      { key, condition: 'unconditional' },
      { key, condition: 'unconditional' },
    ]);
    expect(bucket.downloads).toBe(1);
    expect(await bucket.lastModified(key)).toBe(Math.floor(time.now / 1000) * 1000);
  });

  it('uploads create-only and once for the same blob put by two replicas', async () => {
    const { bucket, open } = setup();
    const { replica: a } = await open();
    const { replica: b } = await open();
    const data = bytes(1000, 9);
    await a.create('files', 'a', { content: (await a.putBlob(data)) as never });
    await b.create('files', 'b', { content: (await b.putBlob(data)) as never });
    await a.sync();
    await b.sync();
    await a.sync();
    const id = await contentIdOf(data);
    expect(bucket.uploads).toEqual([{ key: `blobs/${id}`, condition: { ifAbsent: true } }]);
    expect(await bucket.list('blobs/')).toEqual([`blobs/${id}`]);
    expect((await a.get('files', 'b'))?.content).toEqual((await b.get('files', 'a'))?.content);
  });

  it('with encryption, the server never holds the plaintext blob or its hash', async () => {
    const { bucket, open } = setup('correct horse');
    const { replica: a } = await open();
    const data = new TextEncoder().encode('top secret blob contents '.repeat(40));
    const ref = await a.putBlob(data);
    expect(ref.sealed?.remote).toMatch(/^[0-9a-f]{64}$/);
    await a.create('files', 'f', { content: ref as never });
    await a.sync();
    const names = await bucket.list('blobs/');
    expect(names).toEqual([`blobs/${ref.sealed?.remote}`]);
    expect(names.join()).not.toContain(ref.$blob);
    const stored = (await bucket.download(names[0] ?? ''))!;
    expect(stored.length).toBeGreaterThan(data.length);
    expect(new TextDecoder('latin1').decode(stored)).not.toContain('top secret');

    expect(await a.putBlob(data)).toEqual(ref); // the same bytes again: the same sealed object
    const { replica: b } = await open();
    await b.sync();
    expect(await b.getBlob(ref.$blob)).toEqual(data); // the reference (with its key) came from the chain
    await expect(b.getBlob(await contentIdOf(bytes(1, 1)))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('detects a corrupted remote blob and writes nothing locally', async () => {
    const { bucket, open } = setup();
    const { replica: a } = await open();
    const data = bytes(2000, 5);
    const ref = await a.putBlob(data);
    await a.create('files', 'f', { content: ref as never });
    await a.sync();
    const corrupt = data.slice();
    corrupt[10] = (corrupt[10] ?? 0) ^ 1;
    await bucket.upload(`blobs/${ref.$blob}`, corrupt);
    const { replica: b, blobs: bLocal } = await open();
    await b.sync();
    await expect(b.getBlob(ref)).rejects.toMatchObject({ code: 'CONTENT_MISMATCH' });
    await expect(bLocal.getData(ref.$blob, { id: 'x', pid: 'test' })).rejects.toBeInstanceOf(
      ContentNotFoundError,
    );
  });

  it('with encryption, a tampered sealed blob fails authentication and writes nothing locally', async () => {
    const { bucket, open } = setup('s3cret');
    const { replica: a } = await open();
    const ref = await a.putBlob(bytes(3000, 2));
    await a.create('files', 'f', { content: ref as never });
    await a.sync();
    // A remote store that skips the name check, so the seal itself must catch the tampering.
    const tampering: RemoteBlobStore = {
      put: () => Promise.reject(new Error('read-only')),
      get: async (name) => {
        const body = (await bucket.download(`blobs/${name}`))!.slice();
        body[body.length - 20] = (body[body.length - 20] ?? 0) ^ 0x80;
        return body;
      },
    };
    const { replica: b, blobs: bLocal } = await open(tampering);
    await b.sync();
    await expect(b.getBlob(ref)).rejects.toMatchObject({ code: 'CHAIN_INTEGRITY' });
    await expect(bLocal.getData(ref.$blob, { id: 'x', pid: 'test' })).rejects.toBeInstanceOf(
      ContentNotFoundError,
    );
  });

  it('drops the lease when the last referencing object goes, so GC deletes the blob', async () => {
    const { open } = setup();
    const { replica: a, blobs } = await open();
    const ref = await a.putBlob(bytes(500, 7));
    const kept = await a.putBlob(bytes(500, 8)); // put but not referenced yet: held
    await a.create('files', 'one', { content: ref as never });
    await a.create('files', 'two', { nested: { list: [ref] } as never });
    expect((await a.collectBlobGarbage()).deleted).toEqual([]);
    await a.sync(); // afterwards no unpushed operation references the blob
    await a.delete('files', 'one');
    expect((await a.collectBlobGarbage()).deleted).toEqual([]); // 'two' still references it
    await a.update('files', 'two', { nested: undefined });
    expect((await a.collectBlobGarbage()).deleted).toEqual([ref.$blob]);
    await expect(blobs.getData(ref.$blob, { id: 'x', pid: 'test' })).rejects.toBeInstanceOf(
      ContentNotFoundError,
    );
    expect(await a.getBlob(kept)).toEqual(bytes(500, 8));
  });

  it('refuses bytes that do not match the reference from any remote store, writing nothing', async () => {
    const { open } = setup();
    const wrong: RemoteBlobStore = {
      put: () => Promise.reject(new Error('read-only')),
      get: async () => bytes(10, 99), // a store without its own verification
    };
    const { replica: b, blobs } = await open(wrong);
    const ref = blobRef(await contentIdOf(bytes(10, 1)), 10);
    await expect(b.getBlob(ref)).rejects.toMatchObject({ code: 'CONTENT_MISMATCH' });
    await expect(blobs.getData(ref.$blob, { id: 'x', pid: 'test' })).rejects.toBeInstanceOf(
      ContentNotFoundError,
    );
  });

  it('keeps a blob that an unpushed operation references, even once its object is gone', async () => {
    const { bucket, open } = setup();
    const { replica: a } = await open();
    const data = bytes(700, 6);
    const ref = await a.putBlob(data);
    await a.create('files', 'f', { content: ref as never });
    await a.delete('files', 'f');
    expect((await a.collectBlobGarbage()).deleted).toEqual([]);
    await a.sync();
    expect(await bucket.list('blobs/')).toEqual([`blobs/${ref.$blob}`]);
    expect((await a.collectBlobGarbage()).deleted).toEqual([ref.$blob]);
    expect(await a.getBlob(ref)).toEqual(data); // downloaded again on demand
  });

  it('uploads a referenced blob on the next sync after the blob store was unreachable', async () => {
    const { bucket, open } = setup();
    let offline = true;
    const real = new RemoteBlobs(bucket, { prefix: 'blobs' });
    const flaky: RemoteBlobStore = {
      put: (data, id) =>
        offline ? Promise.reject(new IndeterminateRemoteError('offline')) : real.put(data, id),
      get: (id) => real.get(id),
    };
    const { replica: a, blobs: aLocal, store: aStore } = await open(flaky);
    const data = bytes(4000, 4);
    const ref = await a.putBlob(data);
    await a.create('files', 'f', { content: ref as never });
    await expect(a.sync()).rejects.toBeInstanceOf(IndeterminateRemoteError);
    const { replica: b } = await open();
    await b.sync();
    expect(await b.get('files', 'f')).toBeNull(); // the version waited for its blob
    expect(await a.pendingCount()).toBeGreaterThan(0);
    offline = false;
    // The app restarts before the next sync: a new instance over the same stores.
    const { replica: a2 } = await open(flaky, aLocal, aStore);
    await a2.sync();
    expect(await a2.pendingCount()).toBe(0);
    expect(bucket.uploads.map((u) => u.key)).toEqual([`blobs/${ref.$blob}`]);
    await b.sync();
    expect(await b.getBlob((await b.get('files', 'f'))?.content as unknown as BlobRef)).toEqual(data);
  });
});
