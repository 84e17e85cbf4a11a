import { describe, expect, it } from 'vitest';
import type { AtomicRemoteBackend, ConditionalPut } from '../contracts/remote-backend.js';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
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
  it('catches up many versions with parallel downloads, one per commit, and never lists', async () => {
    const backend = new CountingBackend();
    const client = crypto.randomUUID();
    const ids = await buildChain(new RemoteStorage(backend, { prefix: 'chain' }), client, 200);

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
    // The parent's index, then each commit record exactly once (the latest has no child: no probe).
    expect(backend.downloads).toBe(1 + ids.length);
    expect(backend.lists).toBe(0);
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
