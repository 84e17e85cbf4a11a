import { describe, expect, it } from 'vitest';
import type { AtomicRemoteBackend, ConditionalPut, ObjectVersion } from '../contracts/remote-backend.js';
import { IndeterminateRemoteError, UnauthorizedError } from '../contracts/errors.js';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from '../sync/replica.js';
import { BodyLimitBackend } from '../test-support/body-limit-backend.js';
import { buildChain } from '../test-support/build-chain.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import type { HeldWriteInfo } from '../testing/held-writes.js';
import { expectSameBytes } from '../test-support/same-bytes.js';
import { RemoteStorage } from './remote-storage.js';

/** Counts downloads and the most that were in flight at once. */
class CountingBackend implements AtomicRemoteBackend {
  readonly inner = new MemoryRemoteBackend();
  downloads = 0;
  inFlight = 0;
  maxInFlight = 0;
  lists = 0;

  async list(prefix: string): Promise<string[]> {
    this.lists++;
    return this.inner.list(prefix);
  }
  download(key: string) {
    return this.#track(() => this.inner.download(key));
  }
  downloadVersioned(key: string) {
    return this.#track(() => this.inner.downloadVersioned(key));
  }
  upload(key: string, data: Uint8Array) {
    return this.inner.upload(key, data);
  }
  exists(key: string) {
    return this.inner.exists(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  objectVersion(key: string) {
    return this.inner.objectVersion(key);
  }
  uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut) {
    return this.inner.uploadConditional(key, data, condition);
  }
  deleteConditional(key: string, condition: { ifVersion: string }) {
    return this.inner.deleteConditional(key, condition);
  }
  reset(): void {
    this.downloads = 0;
    this.maxInFlight = 0;
  }
  async #track<T>(request: () => Promise<T>): Promise<T> {
    this.downloads++;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      // A macrotask of latency, as a network has: requests issued together overlap.
      await new Promise((resolve) => setTimeout(resolve, 0));
      return await request();
    } finally {
      this.inFlight--;
    }
  }
}

describe('RemoteStorage layout', () => {
  it('catches up many versions with parallel downloads of packs and records, and never lists', async () => {
    const backend = new CountingBackend();
    const client = crypto.randomUUID();
    // Commit 1 creates the client; commits 2 … 201 add one version each. The writer packs
    // commits 1-64, 65-128 and 129-192 as it completes them.
    const ids = await buildChain(new RemoteStorage(backend, { prefix: 'chain' }), client, 200);
    expect(await backend.inner.list(`chain/${client}/k/`)).toHaveLength(3);

    const reader = new RemoteStorage(backend, { prefix: 'chain', concurrency: 16 });
    const txn = await reader.txn(client);
    await txn.getClient();
    backend.reset();
    const versions = await txn.getVersionsAfter(NIL_UUID, 1000);
    expect(versions.map((v) => v.versionId)).toEqual(ids);
    expect(versions.map((v) => fromUtf8(v.historySegment))).toEqual(ids.map((_, i) => `v${i}`));
    console.warn(
      `catch-up of ${ids.length} versions: ${backend.downloads} downloads, at most ${backend.maxInFlight} in flight`,
    );
    expect(backend.maxInFlight).toBeGreaterThan(1);
    expect(backend.maxInFlight).toBeLessThanOrEqual(16);
    // The parent's index, the three packs, then commits 193-201 one by one.
    expect(backend.downloads).toBe(1 + 3 + 9);
    expect(backend.lists).toBe(0);
  });

  it('reads a chain without packs record by record, and writes the packs for the next reader', async () => {
    const backend = new CountingBackend();
    const client = crypto.randomUUID();
    const ids = await buildChain(new RemoteStorage(backend, { prefix: 'chain' }), client, 140);
    for (const name of await backend.inner.list(`chain/${client}/k/`)) await backend.inner.delete(name);

    const first = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    await first.getClient();
    backend.reset();
    expect((await first.getVersionsAfter(NIL_UUID, 1000)).map((v) => v.versionId)).toEqual(ids);
    // Index, two missing packs, then all 141 commits (the first holds no version, but completes
    // the first pack).
    expect(backend.downloads).toBe(1 + 2 + 141);
    expect(await backend.inner.list(`chain/${client}/k/`)).toHaveLength(2);

    const second = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    await second.getClient();
    backend.reset();
    expect((await second.getVersionsAfter(NIL_UUID, 1000)).map((v) => v.versionId)).toEqual(ids);
    expect(backend.downloads).toBe(1 + 2 + 13);
  });

  it('pages on through one transaction without index lookups, downloading each commit once', async () => {
    const backend = new CountingBackend();
    const client = crypto.randomUUID();
    const ids = await buildChain(new RemoteStorage(backend, { prefix: 'chain' }), client, 150);
    for (const name of await backend.inner.list(`chain/${client}/k/`)) await backend.inner.delete(name);
    const txn = await new RemoteStorage(backend, { prefix: 'chain', concurrency: 4 }).txn(client);
    await txn.getClient();
    backend.reset();
    const seen: string[] = [];
    for (let cursor: Uuid = NIL_UUID; ;) {
      const page = await txn.getVersionsAfter(cursor, 7);
      if (page.length === 0) break;
      seen.push(...page.map((v) => v.versionId));
      cursor = page.at(-1)!.versionId;
    }
    expect(seen).toEqual(ids);
    // The first page's index lookup, commits 2-151 once each; no pack is ever wanted whole
    // (pages of 7), so none is read.
    expect(backend.downloads).toBe(1 + 150);
  });

  it('refuses a pack that does not hold the commits its name says, with CHAIN_INTEGRITY', async () => {
    const backend = new MemoryRemoteBackend();
    const client = crypto.randomUUID();
    await buildChain(new RemoteStorage(backend, { prefix: 'chain' }), client, 70);
    const [pack] = await backend.list(`chain/${client}/k/`);
    const json = JSON.parse(fromUtf8((await backend.download(pack!))!)) as { records: unknown[] };
    json.records.reverse();
    await backend.upload(pack!, utf8(JSON.stringify(json)));
    const txn = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    await txn.getClient();
    await expect(txn.getVersionsAfter(NIL_UUID, 100)).rejects.toMatchObject({ code: 'CHAIN_INTEGRITY' });
  });

  it('honours the limit of getVersionsAfter without fetching the whole chain', async () => {
    const backend = new CountingBackend();
    const client = crypto.randomUUID();
    const ids = await buildChain(new RemoteStorage(backend, { prefix: 'chain' }), client, 50);
    const txn = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    await txn.getClient();
    backend.reset();
    const versions = await txn.getVersionsAfter(ids[9]!, 5);
    expect(versions.map((v) => v.versionId)).toEqual(ids.slice(10, 15));
    expect(backend.downloads).toBeLessThanOrEqual(1 + 6);
  });

  it('reads a client it has seen before in one round trip: pointer and next-commit probe together', async () => {
    const backend = new CountingBackend();
    const client = crypto.randomUUID();
    const storage = new RemoteStorage(backend, { prefix: 'chain' });
    await buildChain(storage, client, 3);
    backend.reset();
    const txn = await storage.txn(client);
    expect(await txn.getClient()).not.toBeNull();
    expect(backend.downloads).toBe(2);
    expect(backend.maxInFlight).toBe(2);
  });

  it('keeps stores under different prefixes of one bucket apart', async () => {
    const backend = new MemoryRemoteBackend();
    const client = crypto.randomUUID();
    const a = new RemoteStorage(backend, { prefix: 'app/a' });
    const b = new RemoteStorage(backend, { prefix: 'app/b' });
    const [idA] = await buildChain(a, client, 1);
    expect(await (await b.txn(client)).getClient()).toBeNull();
    expect((await (await a.txn(client)).getClient())?.latestVersionId).toBe(idA);
  });

  it('rejects a bad prefix, backend or option with INVALID_ARGUMENT', () => {
    const backend = new MemoryRemoteBackend();
    const bad = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    for (const prefix of ['', '/x', 'x/', 'a//b', 'a/../b', 'sp ace', 42]) {
      expect(() => new RemoteStorage(backend, { prefix: prefix as string })).toThrow(bad);
    }
    expect(() => new RemoteStorage(null as unknown as MemoryRemoteBackend, { prefix: 'p' })).toThrow(bad);
    for (const concurrency of [0, -1, 1.5, NaN]) {
      expect(() => new RemoteStorage(backend, { prefix: 'p', concurrency })).toThrow(bad);
    }
    expect(() => new RemoteStorage(backend, { prefix: 'p', retry: { attempts: 0 } })).toThrow(bad);
    expect(() => new RemoteStorage(backend, { prefix: 'p', retry: { delayMs: NaN } })).toThrow(bad);
  });
});

// ---- snapshots larger than one object (issue 10, item 3) ------------------------------------------

/** `n` bytes that do not compress (a snapshot is gzipped, and so may be its test data). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)));
  return out;
}

/** A client with one version and a snapshot of it holding `data`, committed through `storage`. */
async function snapshotted(storage: RemoteStorage, client: Uuid, data: Uint8Array): Promise<Uuid> {
  const [id] = await buildChain(storage, client, 1);
  const txn = await storage.txn(client);
  await txn.setSnapshot({ versionId: id!, timestamp: 1_700_000_000_000, versionsSince: 0 }, data);
  await txn.commit();
  return id!;
}

/** The objects under the client's snapshot directory `s/`. */
const snapshotObjects = (backend: MemoryRemoteBackend, client: Uuid) => backend.list(`chain/${client}/s/`);

describe('RemoteStorage: snapshots larger than the largest object the server accepts', () => {
  const LIMIT = 16 * 1024;

  it('writes the snapshot in parts under the limit, and a fresh instance reads it whole', async () => {
    const memory = new MemoryRemoteBackend();
    const backend = new BodyLimitBackend(memory, { maxObjectBytes: LIMIT });
    const client = crypto.randomUUID();
    const data = randomBytes(5 * LIMIT + 123);
    const id = await snapshotted(new RemoteStorage(backend, { prefix: 'chain' }), client, data);
    expect(backend.refused).toBe(0);
    expect(backend.largestWrite).toBeLessThanOrEqual(LIMIT);
    expect((await snapshotObjects(memory, client)).length).toBeGreaterThanOrEqual(6);

    const txn = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    expect((await txn.getClient())?.snapshot?.versionId).toBe(id);
    expectSameBytes(await txn.getSnapshotData(id), data);
  });

  it('uses the limit it is told when the backend states none', async () => {
    const memory = new MemoryRemoteBackend();
    const backend = new BodyLimitBackend(memory, { maxObjectBytes: LIMIT, advertise: false });
    const client = crypto.randomUUID();
    const data = randomBytes(3 * LIMIT);
    const id = await snapshotted(
      new RemoteStorage(backend, { prefix: 'chain', maxObjectBytes: LIMIT }),
      client,
      data,
    );
    expect(backend.refused).toBe(0);
    const txn = await new RemoteStorage(memory, { prefix: 'chain' }).txn(client);
    await txn.getClient();
    expectSameBytes(await txn.getSnapshotData(id), data);
  });

  /** A snapshot of four times the limit, written in parts; `memory` holds them unchecked. */
  async function partedSnapshot() {
    const memory = new MemoryRemoteBackend();
    const backend = new BodyLimitBackend(memory, { maxObjectBytes: LIMIT });
    const client = crypto.randomUUID();
    const storage = new RemoteStorage(backend, { prefix: 'chain' });
    const id = await snapshotted(storage, client, randomBytes(4 * LIMIT));
    return { memory, backend, client, id };
  }

  it('fails with CHAIN_INTEGRITY when a part is missing', async () => {
    const { memory, backend, client, id } = await partedSnapshot();
    const parts = await snapshotObjects(memory, client);
    expect(parts.length).toBeGreaterThan(1);
    await memory.delete(parts[1]!);
    const txn = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    await txn.getClient();
    await expect(txn.getSnapshotData(id)).rejects.toMatchObject({
      code: 'CHAIN_INTEGRITY',
      message: expect.stringMatching(/is missing: it is part \d+ of \d+/),
    });
  });

  it('fails with CHAIN_INTEGRITY when two parts are swapped', async () => {
    const { memory, backend, client, id } = await partedSnapshot();
    const [a, b] = await snapshotObjects(memory, client);
    const [bytesA, bytesB] = [await memory.download(a!), await memory.download(b!)];
    expect(bytesA!.length).toBe(bytesB!.length); // full parts: a swap keeps every size
    await memory.upload(a!, bytesB!);
    await memory.upload(b!, bytesA!);
    const txn = await new RemoteStorage(backend, { prefix: 'chain' }).txn(client);
    await txn.getClient();
    await expect(txn.getSnapshotData(id)).rejects.toMatchObject({
      code: 'CHAIN_INTEGRITY',
      message: expect.stringMatching(/digest/),
    });
  });

  it('fails with CHAIN_INTEGRITY when the record names parts in a foreign or impossible form', async () => {
    const { memory, client, id } = await partedSnapshot();
    const pointer = `chain/${client}/client`;
    const original = JSON.parse(fromUtf8((await memory.download(pointer))!)) as {
      state: { snap: Record<string, unknown> };
    };
    const withSnap = (snap: Record<string, unknown>) => ({ ...original, state: { ...original.state, snap } });
    const partBytes = original.state.snap['partBytes'] as number;
    const huge = 2 ** 50;
    for (const [snap, message] of [
      [{ ...original.state.snap, id: '../x' }, /in a form chainsync does not write/],
      [{ ...original.state.snap, parts: 1 }, /in a form chainsync does not write/],
      [
        { ...original.state.snap, bytes: huge, parts: Math.ceil(huge / partBytes) },
        /more than this device can hold/,
      ],
    ] as const) {
      await memory.upload(pointer, utf8(JSON.stringify(withSnap(snap))));
      const txn = await new RemoteStorage(memory, { prefix: 'chain' }).txn(client);
      await txn.getClient();
      await expect(txn.getSnapshotData(id)).rejects.toMatchObject({
        code: 'CHAIN_INTEGRITY',
        message: expect.stringMatching(message),
      });
    }
  });

  it('reads a snapshot in the single-object format of earlier releases', async () => {
    const backend = new MemoryRemoteBackend();
    const client = crypto.randomUUID();
    const versionId = crypto.randomUUID();
    const data = randomBytes(1000);
    // Exactly as RemoteStorage wrote a snapshot-setting commit before snapshots had parts.
    const record = {
      f: 1,
      n: 1,
      w: '0123456789abcdef0123456789abcdef',
      state: {
        client: { latestVersionId: versionId, snapshot: { versionId, timestamp: 5, versionsSince: 0 } },
        snap: 's/0123456789abcdef0123456789abcdef',
      },
      versions: [],
    };
    await backend.upload(`chain/${client}/c/000000000001`, utf8(JSON.stringify(record)));
    await backend.upload(`chain/${client}/s/0123456789abcdef0123456789abcdef`, data);
    const storage = new RemoteStorage(backend, { prefix: 'chain' });
    const txn = await storage.txn(client);
    expect((await txn.getClient())?.snapshot).toEqual({ versionId, timestamp: 5, versionsSince: 0 });
    expectSameBytes(await txn.getSnapshotData(versionId), data);
  });

  it('states the largest segment a version may carry, leaving room for its commit record', async () => {
    const memory = new MemoryRemoteBackend();
    const backend = new BodyLimitBackend(memory, { maxObjectBytes: LIMIT });
    expect(await new RemoteStorage(memory, { prefix: 'chain' }).limits()).toEqual({ maxSegmentBytes: null });
    const storage = new RemoteStorage(backend, { prefix: 'chain' });
    const { maxSegmentBytes } = await storage.limits();
    // Segments travel base64-encoded in the record: about 3/4 of the object, less the record.
    expect(maxSegmentBytes).toBeGreaterThan(LIMIT * 0.7);
    expect(maxSegmentBytes).toBeLessThan(LIMIT * 0.75);
    // A version of exactly that size commits, even in a record that names a snapshot's parts.
    const client = crypto.randomUUID();
    const id = await snapshotted(storage, client, randomBytes(3 * LIMIT));
    const txn = await storage.txn(client);
    await txn.addVersion(crypto.randomUUID(), id, randomBytes(maxSegmentBytes!));
    await txn.commit();
    expect(backend.refused).toBe(0);
  });

  /** A body-limited backend whose writes `fail` may refuse (before reaching the inner backend). */
  class FailingBackend extends BodyLimitBackend {
    constructor(readonly fail: (key: string) => Error | null) {
      super(new MemoryRemoteBackend(), { maxObjectBytes: LIMIT });
    }
    override async uploadConditional(
      key: string,
      data: Uint8Array,
      condition: ConditionalPut,
    ): Promise<ObjectVersion> {
      const error = this.fail(key);
      if (error) throw error;
      return super.uploadConditional(key, data, condition);
    }
  }

  /** A transaction on `client` (whose only version is `id`) setting a snapshot of `data`. */
  async function settingSnapshot(storage: RemoteStorage, client: Uuid, id: Uuid, data: Uint8Array) {
    const txn = await storage.txn(client);
    await txn.setSnapshot({ versionId: id, timestamp: 1_700_000_000_001, versionsSince: 0 }, data);
    return txn;
  }

  it("deletes the parts of a commit that lost its race, and keeps the winner's", async () => {
    const memory = new MemoryRemoteBackend();
    const backend = new BodyLimitBackend(memory, { maxObjectBytes: LIMIT });
    const storage = new RemoteStorage(backend, { prefix: 'chain' });
    const client = crypto.randomUUID();
    const [id] = await buildChain(storage, client, 1);
    const winner = await settingSnapshot(storage, client, id!, randomBytes(3 * LIMIT));
    const loser = await settingSnapshot(storage, client, id!, randomBytes(3 * LIMIT));
    await winner.commit();
    const winnersParts = await snapshotObjects(memory, client);
    expect(winnersParts.length).toBeGreaterThan(1);
    await expect(loser.commit()).rejects.toMatchObject({ code: 'TRANSACTION_CONFLICT' });
    expect(await snapshotObjects(memory, client)).toEqual(winnersParts);
  });

  it('deletes the parts already written when a later part cannot be, and applies nothing', async () => {
    let partsWritten = 0;
    const backend = new FailingBackend((key) =>
      key.includes('/s/') && ++partsWritten === 3 ? new UnauthorizedError(`PUT ${key}: refused`) : null,
    );
    const memory = backend.inner as MemoryRemoteBackend;
    const storage = new RemoteStorage(backend, { prefix: 'chain', concurrency: 1 });
    const client = crypto.randomUUID();
    const [id] = await buildChain(storage, client, 1);
    const txn = await settingSnapshot(storage, client, id!, randomBytes(4 * LIMIT));
    await expect(txn.commit()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(partsWritten).toBeGreaterThanOrEqual(3);
    expect(await snapshotObjects(memory, client)).toEqual([]);
    expect((await (await storage.txn(client)).getClient())?.snapshot).toBeNull();
  });

  it('keeps the parts when the commit record may yet land (indeterminate claim)', async () => {
    let claims = 0;
    const backend = new FailingBackend((key) => {
      if (!/\/c\/000000000003$/.test(key)) return null;
      claims++;
      return new IndeterminateRemoteError(`PUT ${key}: timed out`);
    });
    const memory = backend.inner as MemoryRemoteBackend;
    const storage = new RemoteStorage(backend, { prefix: 'chain', retry: { delayMs: 0 } });
    const client = crypto.randomUUID();
    const [id] = await buildChain(storage, client, 1);
    const txn = await settingSnapshot(storage, client, id!, randomBytes(3 * LIMIT));
    await expect(txn.commit()).rejects.toMatchObject({ code: 'REMOTE_INDETERMINATE' });
    expect(claims).toBeGreaterThan(0);
    expect((await snapshotObjects(memory, client)).length).toBeGreaterThan(1);
  });

  it('lets a fresh replica bootstrap from a snapshot several times the limit', async () => {
    const backend = new BodyLimitBackend(new MemoryRemoteBackend(), { maxObjectBytes: LIMIT });
    const clientId = crypto.randomUUID();
    const replica = (storage: RemoteStorage) =>
      Replica.open({ store: new MemoryReplicaStore(), storage, clientId, maxOperationsPerVersion: 1 });
    const a = await replica(new RemoteStorage(backend, { prefix: 'chain' }));
    const hex = (n: number) => Array.from(randomBytes(n), (b) => b.toString(16).padStart(2, '0')).join('');
    const texts = Array.from({ length: 30 }, () => hex(2500));
    for (const [i, text] of texts.entries()) await a.create('notes', `n${i}`, { text });
    const pushed = await a.sync();
    expect(pushed.snapshotUploaded).toBe(true);

    const b = await replica(new RemoteStorage(backend, { prefix: 'chain' }));
    const pulled = await b.sync();
    expect(pulled.reset).toBe('bootstrap');
    expect((await b.list('notes')).map((o) => o.properties['text'])).toEqual(
      (await a.list('notes')).map((o) => o.properties['text']),
    );
    expect(await b.list('notes')).toHaveLength(30);
  });
});

describe('RemoteStorage when a commit record times out and lands late', () => {
  const isRecord = (write: HeldWriteInfo) => write.conditional && /\/c\/\d+$/.test(write.key);
  const snapOf = (id: Uuid) => ({ versionId: id, timestamp: 1_700_000_000_000, versionsSince: 0 });

  it('commits a snapshot whose record landed after the read-back, and keeps the snapshot data', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend());
    const storage = new RemoteStorage(backend, { prefix: 'chain', retry: { delayMs: 0 } });
    const client = crypto.randomUUID();
    await buildChain(storage, client, 0);
    const id = crypto.randomUUID();
    const txn = await storage.txn(client);
    await txn.addVersion(id, NIL_UUID, utf8('v'));
    await txn.setSnapshot(snapOf(id), utf8('snapshot'));
    const hold = backend.holds.hold({ match: isRecord });
    const outcome = await txn.commit().then(
      () => 'committed',
      (error: { code?: string }) => error.code,
    );
    expect(hold.landed).toBe(true);
    // What a fresh replica finds: the landed record, and the snapshot data it names.
    const fresh = await new RemoteStorage(backend.inner, { prefix: 'chain' }).txn(client);
    expect(await fresh.getClient()).toEqual({ latestVersionId: id, snapshot: snapOf(id) });
    expect(fromUtf8((await fresh.getSnapshotData(id)) ?? new Uint8Array())).toBe('snapshot');
    expect(outcome).toBe('committed');
  });

  it('still reports a real loss after a timeout as TRANSACTION_CONFLICT, and the winner stays whole', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend());
    const storage = new RemoteStorage(backend, { prefix: 'chain', retry: { delayMs: 0 } });
    const client = crypto.randomUUID();
    await buildChain(storage, client, 0);
    const [winner, loser] = [await storage.txn(client), await storage.txn(client)];
    const [idW, idL] = [crypto.randomUUID(), crypto.randomUUID()];
    await winner.addVersion(idW, NIL_UUID, utf8('w'));
    await winner.setSnapshot(snapOf(idW), utf8('winner'));
    await loser.addVersion(idL, NIL_UUID, utf8('l'));
    await loser.setSnapshot(snapOf(idL), utf8('loser'));
    await winner.commit();
    const hold = backend.holds.hold({ match: isRecord, lands: 'manual' });
    await expect(loser.commit()).rejects.toMatchObject({ code: 'TRANSACTION_CONFLICT' });
    await hold.land();
    const fresh = await new RemoteStorage(backend.inner, { prefix: 'chain' }).txn(client);
    expect(await fresh.getClient()).toEqual({ latestVersionId: idW, snapshot: snapOf(idW) });
    expect(fromUtf8((await fresh.getSnapshotData(idW))!)).toBe('winner');
    expect(await fresh.getVersion(idL)).toBeNull();
  });
});
