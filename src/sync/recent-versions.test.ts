/**
 * The state keeps the ids of the newest versions up to the base (`recentVersionIds`), whether the
 * replica pushed them or pulled them (page by page), trimmed to RECENT_VERSION_IDS, and afresh from
 * a snapshot: what `inspect()` shows, so a tool draws the chain without reading the server.
 */
import { describe, expect, it } from 'vitest';
import type { Storage, Uuid } from '../contracts/storage.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { RECENT_VERSION_IDS } from './advance.js';
import { Replica, type ReplicaOptions } from './replica.js';

const NIL: Uuid = '00000000-0000-0000-0000-000000000000';

async function open(storage: Storage, clientId: Uuid, extra: Partial<ReplicaOptions> = {}) {
  const store = new MemoryReplicaStore();
  const replica = await Replica.open({ store, storage, clientId, maxOperationsPerVersion: 1, ...extra });
  return { store, replica };
}

/** Every version id of the chain, in order, as the server has them. */
async function chainIds(storage: Storage, clientId: Uuid): Promise<Uuid[]> {
  const txn = await storage.txn(clientId);
  const ids: Uuid[] = [];
  for (;;) {
    const page = await txn.getVersionsAfter(ids.at(-1) ?? NIL, 100);
    if (page.length === 0) return ids;
    ids.push(...page.map((v) => v.versionId));
  }
}

/** `count` one-operation versions pushed by `replica`. */
async function push(replica: Replica, count: number, tag: string): Promise<void> {
  for (let i = 0; i < count; i++) await replica.create('tasks', `${tag}-${i}`);
  await replica.sync();
}

describe('recentVersionIds', () => {
  it('lists the versions a replica pushed and the ones another pulled, page by page', async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const a = await open(storage, client);
    const b = await open(storage, client, { pullPageSize: 2 });
    await push(b.replica, 1, 'b0'); // b has a base, so it pulls what follows (no snapshot bootstrap)
    await push(a.replica, 3, 'a');
    await push(b.replica, 2, 'b'); // pulls a's three over two pages, then pushes its own two
    await a.replica.sync();
    const chain = await chainIds(storage, client);
    expect(chain).toHaveLength(6);
    for (const { store } of [a, b]) {
      const state = await store.readState();
      expect(state.recentVersionIds).toEqual(chain);
      expect(state.baseVersionId).toBe(chain.at(-1));
    }
  });

  it(`keeps the newest ${RECENT_VERSION_IDS}, ending at the base`, async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const a = await open(storage, client);
    await push(a.replica, RECENT_VERSION_IDS + 3, 'a');
    const chain = await chainIds(storage, client);
    expect((await a.store.readState()).recentVersionIds).toEqual(chain.slice(-RECENT_VERSION_IDS));
  });

  it('starts afresh at the snapshot a new replica bootstraps from', async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const a = await open(storage, client, { snapshotPolicy: { versions: 2, days: 14 } });
    await push(a.replica, 4, 'a');
    const chain = await chainIds(storage, client);
    const snapshot = (await (await storage.txn(client)).getClient())?.snapshot;
    expect(snapshot).toBeTruthy();
    const fresh = await open(storage, client);
    await fresh.replica.sync();
    const from = chain.indexOf(snapshot!.versionId);
    expect(from).toBeGreaterThanOrEqual(0);
    expect((await fresh.store.readState()).recentVersionIds).toEqual(chain.slice(from));
  });
});
