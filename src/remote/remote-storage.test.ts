import { describe, expect, it } from 'vitest';
import type { AtomicRemoteBackend, ConditionalPut } from '../contracts/remote-backend.js';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import type { HeldWriteInfo } from '../testing/held-writes.js';
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

async function buildChain(storage: RemoteStorage, client: Uuid, count: number): Promise<Uuid[]> {
  let txn = await storage.txn(client);
  await txn.newClient(NIL_UUID);
  await txn.commit();
  const ids: Uuid[] = [];
  let parent = NIL_UUID;
  for (let i = 0; i < count; i++) {
    txn = await storage.txn(client);
    const id = crypto.randomUUID();
    await txn.addVersion(id, parent, utf8(`v${i}`));
    await txn.commit();
    ids.push(id);
    parent = id;
  }
  return ids;
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
