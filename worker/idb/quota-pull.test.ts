/**
 * A pull the browser refuses for lack of space (issue 16 item 4), on the worker's IndexedDB replica
 * store: the browser's QuotaExceededError is injected into one commit of a multi-page pull (or of a
 * snapshot bootstrap). Nothing half-applied: the store stands on the last page committed (base,
 * objects, queue, in-flight record consistent), the sync fails with a QUOTA_EXCEEDED that says
 * how much it needed and how full the origin was, and the next sync, space freed, completes it.
 * In Node on fake-indexeddb, in the browsers on their own IndexedDB.
 */
import { describe, expect, it } from 'vitest';
import { QuotaExceededError, reviveError, serializeError } from '../../src/contracts/errors.js';
import type { StorageUse } from '../../src/contracts/replica.js';
import type { Storage, Uuid } from '../../src/contracts/storage.js';
import { MemoryReplicaStore } from '../../src/memory/memory-replica-store.js';
import { MemoryStorage } from '../../src/memory/memory-storage.js';
import { controlledChains, FaultyStorage } from '../../src/test-support/controlled-storage.js';
import { Replica } from '../../src/sync/replica.js';
import { rejectsWith } from '../../src/testing/conformance/support.js';

// Node has no IndexedDB: install fake-indexeddb there; the browser keeps its own.
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
const { IdbConnection } = await import('./connection.js');
const { IdbReplicaStore } = await import('./idb-replica-store.js');

/** What the injected Storage API reports when the error is built. */
const FULL: StorageUse = { usage: 299_000_000, quota: 300_000_000, persisted: false };

/**
 * Makes the `nth` commit from now (counted by its write of the replica's state, which every commit
 * of a pull makes) fail as a browser out of space does; returns the undo.
 */
function refuseCommit(nth: number): () => void {
  const proto = IDBObjectStore.prototype;
  const put = proto.put;
  let commits = 0;
  proto.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
    if (this.name === 'replicaState' && ++commits === nth) {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    return put.apply(this, args);
  };
  return () => {
    proto.put = put;
  };
}

/** A replica on a fresh IndexedDB database, and a way to read that database afresh. */
async function idbReplica(storage: Storage, clientId: Uuid) {
  const name = `chainsync:quota-pull-${crypto.randomUUID()}`;
  const store = new IdbReplicaStore(new IdbConnection(name));
  const replica = await Replica.open({
    store,
    storage,
    clientId,
    pullPageSize: 2,
    estimateStorage: () => Promise.resolve(FULL),
  });
  /** The database as another connection reads it (what a reload would find). */
  const reread = async () => {
    const connection = new IdbConnection(name);
    const fresh = new IdbReplicaStore(connection);
    const [state, objects, pending] = await Promise.all([
      fresh.readState(),
      fresh.listObjects('tasks'),
      fresh.getPending(),
    ]);
    await connection.close();
    return { state, ids: objects.map((o) => o.id).sort(), pending: pending.map((p) => p.seq) };
  };
  return { replica, store, reread };
}

/** A chain whose first version (t0) has a snapshot, then `more` versions of one task each. */
async function chain(more: number) {
  const storage = new MemoryStorage();
  const clientId = crypto.randomUUID();
  const writer = await Replica.open({ store: new MemoryReplicaStore(), storage, clientId });
  await writer.create('tasks', 't0', { title: 'first' });
  await writer.sync(); // the first version, and a snapshot of it (none existed)
  const addVersions = async () => {
    for (let i = 1; i <= more; i++) {
      await writer.create('tasks', `t${i}`, { title: `task ${i}`, body: 'x'.repeat(1000) });
      await writer.sync();
    }
  };
  return { storage, clientId, writer, addVersions };
}

describe('a pull refused for lack of space', () => {
  it('keeps the pages before it, fails with QUOTA_EXCEEDED saying what it needed, and the next sync completes it', async () => {
    const { storage, clientId, writer, addVersions } = await chain(6);
    const { replica, reread } = await idbReplica(storage, clientId);
    await replica.sync(); // bootstraps from the snapshot: t0
    await replica.create('tasks', 'mine', { title: 'written here, not pushed yet' });
    await addVersions(); // t1..t6: three pages of two versions
    const before = await reread();
    expect(before.ids).toEqual(['mine', 't0']);
    expect(before.pending.length).toBeGreaterThan(0);

    const undo = refuseCommit(2); // the second page (t3, t4)
    const quota = await rejectsWith<QuotaExceededError>(replica.sync(), 'QUOTA_EXCEEDED').finally(undo);
    expect(quota).toBeInstanceOf(QuotaExceededError);
    expect(quota.usage).toBe(FULL.usage);
    expect(quota.quota).toBe(FULL.quota);
    // Two tasks of 1000-odd bytes each, at least.
    expect(quota.neededBytes).toBeGreaterThan(2000);
    expect(quota.message).toContain('2 versions');
    expect(quota.message).toContain(`${quota.neededBytes} bytes`);
    expect(quota.message).toContain('299 MB of the 300 MB');
    expect(quota.message).toContain('navigator.storage.persist()');
    // It crosses a worker boundary with its figures.
    const revived = reviveError(structuredClone(serializeError(quota)));
    expect(revived).toBeInstanceOf(QuotaExceededError);
    expect(revived).toMatchObject({ neededBytes: quota.neededBytes, usage: FULL.usage, quota: FULL.quota });

    // The first page is in, nothing of the second: base, objects and queue agree; nothing in flight.
    const after = await reread();
    expect(after.ids).toEqual(['mine', 't0', 't1', 't2']);
    expect(after.state.baseHeight).toBe(before.state.baseHeight + 2);
    expect(after.state.inFlight).toBeNull();
    expect(after.pending).toEqual(before.pending);
    expect(await replica.list('tasks').then((l) => l.map((o) => o.id).sort())).toEqual(after.ids);

    // Space freed: the next sync pulls the rest and pushes the local write.
    const result = await replica.sync();
    expect(result.pulledVersions).toBe(4);
    expect(result.pushedOperations).toBe(before.pending.length);
    const done = await reread();
    expect(done.ids).toEqual(['mine', 't0', 't1', 't2', 't3', 't4', 't5', 't6']);
    expect(done.pending).toEqual([]);
    await writer.sync();
    expect(await writer.get('tasks', 'mine')).toEqual({ title: 'written here, not pushed yet' });
  });

  it('refused in a bootstrap from the snapshot, leaves the replica as new, and the next sync bootstraps', async () => {
    const { storage, clientId } = await chain(0);
    const { replica, reread } = await idbReplica(storage, clientId);
    const undo = refuseCommit(1);
    try {
      const error = await rejectsWith(replica.sync(), 'QUOTA_EXCEEDED');
      expect(error.message).toContain('the snapshot of version');
      expect(error).toMatchObject({ usage: FULL.usage, quota: FULL.quota });
      expect((error as QuotaExceededError).neededBytes).toBeGreaterThan(0);
    } finally {
      undo();
    }
    const after = await reread();
    expect(after.ids).toEqual([]);
    expect(after.state.baseHeight).toBe(0);
    expect((await replica.sync()).reset).toBe('bootstrap');
    expect((await reread()).ids).toEqual(['t0']);
  });

  it('refused on a page holding its own push in flight, keeps that record, and the next sync recognises the push', async () => {
    const inner = controlledChains.open();
    const plan: ('none' | 'fail-before' | 'fail-after')[] = [];
    const faulty = new FaultyStorage(inner, () => plan.shift() ?? 'none');
    const clientId = crypto.randomUUID();
    const writer = await Replica.open({ store: new MemoryReplicaStore(), storage: inner, clientId });
    await writer.create('tasks', 't0');
    await writer.sync();
    const { replica, store, reread } = await idbReplica(faulty, clientId);
    await replica.sync(); // bootstraps: t0
    await replica.create('tasks', 'mine', { n: 1 });
    // pull: getClient (at the latest: nothing after it); push: getClient, a commit that lands and
    // reports a dropped connection, a read-back that fails: the push stays in flight.
    plan.push('none', 'none', 'fail-after', 'fail-before');
    await rejectsWith(replica.sync(), 'REMOTE_FAILED');
    const before = await reread();
    expect(before.state.inFlight).not.toBeNull();
    await writer.sync(); // pulls the landed push
    for (const id of ['t1', 't2']) {
      await writer.create('tasks', id, { body: 'x'.repeat(1000) });
      await writer.sync();
    }
    const chainLength = (await inner.chain()).length;

    // Pages of two: [its own push, t1], [t2]. The first is refused.
    const undo = refuseCommit(1);
    await rejectsWith(replica.sync(), 'QUOTA_EXCEEDED').finally(undo);
    expect(await reread()).toEqual(before); // base, objects, queue and the record in flight, as they were
    expect(await store.readState()).toEqual(before.state);

    const result = await replica.sync();
    expect(result).toMatchObject({ pulledVersions: 2, pushedVersions: 1 }); // its own, recognised
    expect((await inner.chain()).length).toBe(chainLength); // not pushed again
    const done = await reread();
    expect(done.ids).toEqual(['mine', 't0', 't1', 't2']);
    expect(done.state.inFlight).toBeNull();
    expect(done.pending).toEqual([]);
  });

  it('refuses an estimateStorage that is not a function, with nothing opened', async () => {
    const { storage, clientId } = await chain(0);
    const error = await rejectsWith(
      Replica.open({
        store: new MemoryReplicaStore(),
        storage,
        clientId,
        estimateStorage: 'navigator.storage' as unknown as () => Promise<null>,
      }),
      'INVALID_ARGUMENT',
    );
    expect(error).toMatchObject({ argument: 'options.estimateStorage' });
  });

  it('without a Storage API, says the usage is unknown and leaves those fields out', async () => {
    const { storage, clientId, addVersions } = await chain(2);
    const name = `chainsync:quota-pull-${crypto.randomUUID()}`;
    const replica = await Replica.open({
      store: new IdbReplicaStore(new IdbConnection(name)),
      storage,
      clientId,
      estimateStorage: () => Promise.resolve(null),
    });
    await replica.sync();
    await addVersions();
    const undo = refuseCommit(1);
    try {
      const error = await rejectsWith(replica.sync(), 'QUOTA_EXCEEDED');
      expect(error.message).toContain('the browser does not say how much it uses or allows');
      expect(error).toMatchObject({ usage: undefined, quota: undefined });
      expect((error as QuotaExceededError).neededBytes).toBeGreaterThan(2000);
    } finally {
      undo();
    }
    expect((await replica.sync()).pulledVersions).toBe(2);
  });
});
