/**
 * Remote blob garbage collection (issue 12 item 4; docs/compaction.md "Remote blob GC"): what
 * `RemoteBlobs.collectGarbage` deletes and keeps, bounded batches, remotes that cannot take part,
 * and the refresh by which an upload keeps a blob it relies on young.
 *
 * Over a MemoryRemoteBackend here; remote-blob-gc.server.node.test.ts and
 * remote-blob-gc.s3.node.test.ts rerun the cases on the reference server and Ceph RGW by setting
 * `remoteSlot.backend`. Ages are the server's own (`lastModified` read back after each write), and
 * only the collector's injected clock moves, so the cases hold on a real server too.
 */
import { describe, expect, it } from 'vitest';
import { BLOB_REFRESH_AGE_MS, type ContentId } from '../contracts/blob-storage.js';
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { DeterminateRemoteError } from '../contracts/errors.js';
import { utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { MemoryBlobStorage } from '../memory/memory-blob-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { MemoryCasKv } from '../memory/memory-cas-kv.js';
import { Replica } from '../sync/replica.js';
import type { SyncResult } from '../contracts/replica.js';
import { RemoteBlobs } from './remote-blobs.js';
import { RemoteStorage } from './remote-storage.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
const GRACE = 30 * DAY;
let prefixes = 0;

/** A case's blobs: on the rerunning file's backend (or a fresh one in memory), under a fresh prefix. */
function setUp(inner: AtomicRemoteBackend = remoteSlot.backend ?? new MemoryRemoteBackend()) {
  const clock = { now: Date.now() };
  const prefix = `blob-gc-${remoteSlot.run}/${++prefixes}`;
  const blobs = new RemoteBlobs(inner, { prefix, now: () => clock.now });
  const key = (id: ContentId) => `${prefix}/${id}`;
  /** When the server says `id` was written (it must be there). */
  const written = async (id: ContentId) => {
    const time = await inner.lastModified!(key(id));
    expect(time).not.toBeNull();
    return time!;
  };
  const present = async (ids: readonly ContentId[]) =>
    (await Promise.all(ids.map((id) => inner.exists(key(id))))).map((here, i) => (here ? ids[i] : null));
  return { inner, clock, prefix, blobs, key, written, present };
}

/** `inner`, counting its unconditional uploads (the refresh PUTs) and recording its calls in order. */
function recording(inner: AtomicRemoteBackend, calls: string[]): AtomicRemoteBackend {
  return new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** `inner` without `property` (a remote that cannot LIST, or states no ages). */
function without(inner: AtomicRemoteBackend, property: 'list' | 'lastModified'): AtomicRemoteBackend {
  return new Proxy(inner, {
    get(target, p) {
      if (p === property) return undefined;
      const value: unknown = Reflect.get(target, p, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const nothing = () => Promise.resolve(new Set<ContentId>());

describe('remote blob GC', () => {
  it('deletes an unreferenced blob once it is older than the grace period, not before', async () => {
    const { blobs, clock, written, present } = setUp();
    const id = await blobs.put(utf8('dereferenced long ago'));
    clock.now = (await written(id)) + GRACE; // exactly G old: not older
    expect(await blobs.collectGarbage({ referenced: nothing, graceMs: GRACE })).toEqual({
      deleted: 0,
      more: false,
    });
    expect(await present([id])).toEqual([id]);
    clock.now += 1000;
    expect(await blobs.collectGarbage({ referenced: nothing, graceMs: GRACE })).toEqual({
      deleted: 1,
      more: false,
    });
    expect(await present([id])).toEqual([null]);
  });

  it('keeps a referenced blob however old, deleting only the unreferenced one beside it', async () => {
    const { blobs, clock, written, present } = setUp();
    const kept = await blobs.put(utf8('in the head state'));
    const gone = await blobs.put(utf8('referenced by nothing'));
    clock.now = Math.max(await written(kept), await written(gone)) + 10 * GRACE;
    const report = await blobs.collectGarbage({ referenced: async () => new Set([kept]), graceMs: GRACE });
    expect(report).toEqual({ deleted: 1, more: false });
    expect(await present([kept, gone])).toEqual([kept, null]);
  });

  it('keeps an upload whose version has not landed: young, and references are read after the listing', async () => {
    const calls: string[] = [];
    const { blobs, clock, inner, prefix, written, present } = setUp();
    const early = await blobs.put(utf8('uploaded by a pusher whose version is not in yet'));
    clock.now = (await written(early)) + GRACE - 1000;
    expect(await blobs.collectGarbage({ referenced: nothing, graceMs: GRACE })).toEqual({
      deleted: 0,
      more: false,
    });
    expect(await present([early])).toEqual([early]);
    // Its version lands after the LIST, before the references are read: they name it, so it stays.
    const watched = new RemoteBlobs(recording(inner, calls), { prefix, now: () => clock.now });
    clock.now += 10 * GRACE;
    const report = await watched.collectGarbage({
      referenced: async () => {
        calls.push('referenced');
        return new Set([early]);
      },
      graceMs: GRACE,
    });
    expect(report).toEqual({ deleted: 0, more: false });
    expect(calls.slice(0, 2)).toEqual(['list', 'referenced']);
    expect(await present([early])).toEqual([early]);
  });

  it('never uses a grace below twice the refresh age, whatever is asked', async () => {
    const { blobs, clock, written, present } = setUp();
    const id = await blobs.put(utf8('asked to go at once'));
    clock.now = (await written(id)) + 2 * BLOB_REFRESH_AGE_MS;
    expect(await blobs.collectGarbage({ referenced: nothing, graceMs: 0 })).toEqual({
      deleted: 0,
      more: false,
    });
    clock.now += 1000;
    expect(await blobs.collectGarbage({ referenced: nothing, graceMs: 0 })).toEqual({
      deleted: 1,
      more: false,
    });
    expect(await present([id])).toEqual([null]);
  });

  it('works in bounded batches that continue across calls until everything is examined', async () => {
    const { blobs, clock, written, present } = setUp();
    const ids: ContentId[] = [];
    for (let i = 0; i < 5; i++) ids.push(await blobs.put(utf8(`garbage ${i}`)));
    clock.now = Math.max(...(await Promise.all(ids.map(written)))) + GRACE + 1000;
    const reports = [];
    for (let i = 0; i < 3; i++)
      reports.push(await blobs.collectGarbage({ referenced: nothing, graceMs: GRACE, maxDeletes: 2 }));
    expect(reports).toEqual([
      { deleted: 2, more: true },
      { deleted: 2, more: true },
      { deleted: 1, more: false },
    ]);
    expect(await present(ids)).toEqual(Array(5).fill(null));
    expect(await blobs.collectGarbage({ referenced: nothing, graceMs: GRACE, maxDeletes: 2 })).toEqual({
      deleted: 0,
      more: false,
    });
  });

  it('does nothing and says why on a remote without LIST, or without object ages (no error)', async () => {
    const inner = remoteSlot.backend ?? new MemoryRemoteBackend();
    const { blobs, clock, written, present, prefix } = setUp(inner);
    const id = await blobs.put(utf8('cannot be found by listing'));
    clock.now = (await written(id)) + 10 * GRACE;
    for (const missing of ['list', 'lastModified'] as const) {
      const limited = new RemoteBlobs(without(inner, missing), { prefix, now: () => clock.now });
      const report = await limited.collectGarbage({ referenced: nothing, graceMs: GRACE });
      expect(report).toEqual({
        deleted: 0,
        more: false,
        unsupported: expect.stringMatching(missing === 'list' ? /LIST/ : /Last-Modified/),
      });
    }
    // A server that refuses the listing request (an HTTP server that is not the reference server).
    const refusing = new Proxy(inner, {
      get(target, p) {
        if (p === 'list')
          return () => Promise.reject(new DeterminateRemoteError('list: the server answered 404'));
        const value: unknown = Reflect.get(target, p, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const refused = new RemoteBlobs(refusing, { prefix, now: () => clock.now });
    expect(await refused.collectGarbage({ referenced: nothing, graceMs: GRACE })).toEqual({
      deleted: 0,
      more: false,
      unsupported: expect.stringMatching(/LIST/),
    });
    expect(await present([id])).toEqual([id]);
  });

  it('put re-uploads a blob it finds present but older than the refresh age, and only then', async () => {
    const calls: string[] = [];
    const inner = remoteSlot.backend ?? new MemoryRemoteBackend();
    const { clock, prefix, written } = setUp(inner);
    const blobs = new RemoteBlobs(recording(inner, calls), { prefix, now: () => clock.now });
    const data = utf8('relied on by a push');
    const id = await blobs.put(data);
    const uploads = () => calls.filter((c) => c === 'upload' || c === 'uploadConditional').length;
    expect(uploads()).toBe(1);
    clock.now = (await written(id)) + BLOB_REFRESH_AGE_MS;
    await blobs.put(data);
    expect(uploads()).toBe(1); // young enough: found and relied on
    clock.now += 1000;
    await blobs.put(data);
    expect(calls.filter((c) => c === 'upload')).toHaveLength(1); // old: the same bytes, unconditionally
    expect(await blobs.get(id)).toEqual(data);
  });

  it('refresh re-uploads an old blob the caller does not hold, and says when it is gone', async () => {
    const calls: string[] = [];
    const inner = remoteSlot.backend ?? new MemoryRemoteBackend();
    const { blobs: uploader, clock, prefix, written, key } = setUp(inner);
    const id = await uploader.put(utf8('copied from another replica'));
    const blobs = new RemoteBlobs(recording(inner, calls), { prefix, now: () => clock.now });
    clock.now = (await written(id)) + BLOB_REFRESH_AGE_MS;
    expect(await blobs.refresh(id)).toBe(true);
    expect(calls).not.toContain('upload');
    clock.now += 1000;
    expect(await blobs.refresh(id)).toBe(true);
    expect(calls.filter((c) => c === 'upload')).toHaveLength(1);
    await inner.delete(key(id));
    expect(await blobs.refresh(id)).toBe(false);
  });

  it('refuses bad options with INVALID_ARGUMENT, deleting nothing', async () => {
    const { blobs, clock, written, present } = setUp();
    const id = await blobs.put(utf8('kept'));
    clock.now = (await written(id)) + 10 * GRACE;
    const bad = [
      { referenced: 'all', graceMs: GRACE },
      { referenced: nothing, graceMs: -1 },
      { referenced: nothing, graceMs: 1.5 },
      { referenced: nothing, graceMs: GRACE, maxDeletes: 0 },
    ];
    for (const options of bad) {
      await rejectsWith(blobs.collectGarbage(options as never), 'INVALID_ARGUMENT');
    }
    await rejectsWith(blobs.refresh('not-an-id'), 'INVALID_ARGUMENT');
    expect(await present([id])).toEqual([id]);
  });
});

describe('remote blob GC, with the server clock moving (memory backend)', () => {
  it('re-checks the age just before deleting: a refresh after the listing keeps the blob', async () => {
    const server = { now: Date.now() };
    const inner = new MemoryRemoteBackend({ now: () => server.now });
    const { blobs, clock, present, key } = setUp(inner);
    const data = utf8('refreshed while the collector runs');
    const id = await blobs.put(data);
    server.now += 10 * GRACE;
    clock.now = server.now;
    const report = await blobs.collectGarbage({
      // Between the LIST and the HEAD a pusher finds it old and uploads it again.
      referenced: async () => {
        await blobs.put(data);
        return new Set();
      },
      graceMs: GRACE,
    });
    expect(report).toEqual({ deleted: 0, more: false });
    expect(await present([id])).toEqual([id]);
    expect(await inner.lastModified(key(id))).toBe(Math.floor(server.now / 1000) * 1000);
  });
});

/** The sync side: the replica that compacts collects the remote blobs behind the retained window. */
describe('ReplicaOptions.compaction with remoteBlobs: the compacting replica collects blobs', () => {
  /** A replica snapshotting (and compacting) after every version; blob ages by `clock`. */
  async function openWriter(secret?: string) {
    const { inner, clock, prefix, key, written, present } = setUp();
    const remoteBlobs = new RemoteBlobs(inner, { prefix: `${prefix}/blobs`, now: () => clock.now });
    const replica = await Replica.open({
      store: new MemoryReplicaStore(),
      storage: new RemoteStorage(inner, { prefix }),
      clientId: crypto.randomUUID(),
      clock: () => T0,
      snapshotPolicy: { versions: 1, days: 14 },
      compaction: { keepCommits: 5, keepDays: 0 },
      blobs: new MemoryBlobStorage(),
      remoteBlobs,
      ...(secret === undefined ? {} : { secret, kv: new MemoryCasKv(), testOnlyPbkdf2Iterations: 1 }),
    });
    const name = (ref: { $blob: string; sealed?: { remote: string } }) => ref.sealed?.remote ?? ref.$blob;
    const blobKey = (ref: { $blob: string; sealed?: { remote: string } }) => key(`blobs/${name(ref)}`);
    return { replica, clock, inner, name, blobKey, written, present };
  }

  for (const secret of [undefined, 'blob gc secret']) {
    it(`deletes what neither the head state nor a retained version references${secret ? ' (encrypted)' : ''}`, async () => {
      const { replica, clock, inner, blobKey } = await openWriter(secret);
      const sync = async (): Promise<SyncResult> => {
        const result = await replica.sync();
        expect(result.pushedVersions).toBe(1);
        return result;
      };
      const x = await replica.putBlob(utf8('set in commit 1, its object deleted in commit 2'));
      await replica.create('files', 'a', { f: x as never });
      await sync();
      await replica.delete('files', 'a');
      await sync();
      const y = await replica.putBlob(utf8('in the head state'));
      await replica.create('files', 'b', { f: y as never });
      await sync();
      const z = await replica.putBlob(utf8('set in commit 4 (retained), dereferenced in commit 5'));
      await replica.create('files', 'c', { f: z as never });
      await sync();
      await replica.update('files', 'c', { f: null });
      const young = await sync();
      // Everything is younger than the grace: nothing went, though the GC ran.
      expect(young.compaction).toMatchObject({ blobs: { report: { deleted: 0, more: false } } });
      const ages = await Promise.all([x, y, z].map((r) => inner.lastModified!(blobKey(r))));
      clock.now = Math.max(...ages.map((t) => t ?? 0)) + 10 * GRACE;
      await replica.create('files', 'd');
      const result = await sync();
      // Each sync commits its version, then its snapshot: the last version is commit 11, and 5
      // commits are kept behind it, so commit 7 (z's version) is the first retained.
      expect(result.compaction).toMatchObject({
        report: { floor: 7 },
        blobs: { report: { deleted: 1, more: false } },
      });
      const here = await Promise.all([x, y, z].map((r) => inner.exists(blobKey(r))));
      expect(here).toEqual([false, true, true]);
    });
  }

  it('a blob GC that fails is reported beside the compaction and never fails the sync', async () => {
    const { replica, clock, inner, blobKey } = await openWriter();
    const x = await replica.putBlob(utf8('garbage'));
    await replica.create('files', 'a', { f: x as never });
    await replica.sync();
    await replica.delete('files', 'a');
    clock.now = ((await inner.lastModified!(blobKey(x))) ?? 0) + 10 * GRACE;
    const refusing = inner as { list?: unknown };
    const list = refusing.list;
    refusing.list = () => Promise.reject(new TypeError('injected: LIST failed'));
    try {
      const result = await replica.sync();
      expect(result).toMatchObject({ pushedVersions: 1, snapshotUploaded: true });
      expect(result.compaction).toMatchObject({
        report: {},
        blobs: { error: { message: expect.stringMatching(/LIST failed/) } },
      });
    } finally {
      refusing.list = list;
    }
    expect(await inner.exists(blobKey(x))).toBe(true);
  });
});
