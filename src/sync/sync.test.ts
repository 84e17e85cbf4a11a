/**
 * TaskChampion's sync cases, in TypeScript, against the contracts only (a Storage in memory, or on
 * a live remote in the reruns): conflicting updates, create/delete races, batching (every batch
 * rebased), snapshot bootstrap, snapshot avoidance, pruned-base recovery, and remote faults
 * resolved without loss or duplicates.
 */
import type { JsonValue, ReplicaChangeEvent } from '../contracts/replica.js';
import { describe, expect, it } from 'vitest';
import { DeterminateRemoteError } from '../contracts/errors.js';
import type { Storage, Uuid } from '../contracts/storage.js';
import { forwardingTxn } from '../core/forwarding-txn.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica, type ReplicaOptions } from './replica.js';
import { controlledChains, FaultyStorage } from '../test-support/controlled-storage.js';
import { plainGzipped, paddedSegmentBody } from '../test-support/decompression-bomb.js';
import { rejectsWith } from '../testing/conformance/support.js';

function clock(start = 1_000) {
  let t = start;
  const f = () => t;
  f.set = (v: number) => (t = v);
  return f;
}

async function open(storage: Storage, clientId: Uuid, extra: Partial<ReplicaOptions> = {}) {
  const store = new MemoryReplicaStore();
  return { store, replica: await Replica.open({ store, storage, clientId, ...extra }) };
}

/**
 * Replicas of a new chain named `names`, each on its own clock, all synced (in that order) past the
 * object `tasks/t` that the first created with `properties`.
 */
async function clockedReplicas<N extends string>(names: readonly N[], properties: Record<string, JsonValue>) {
  const storage = new MemoryStorage();
  const client = crypto.randomUUID();
  const replicas = {} as Record<N, Replica>;
  const clocks = {} as Record<N, ReturnType<typeof clock>>;
  for (const name of names) {
    clocks[name] = clock();
    replicas[name] = (await open(storage, client, { clock: clocks[name] })).replica;
  }
  await replicas[names[0]!].create('tasks', 't', properties);
  for (const name of names) await replicas[name].sync();
  return { replicas, clocks };
}

async function dump(r: Replica, collection = 'tasks') {
  return (await r.list(collection)).map((o) => [o.id, o.properties]);
}

describe('sync: TaskChampion cases', () => {
  it('syncs creates and updates between two replicas', async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    const { replica: b } = await open(storage, client);
    await a.create('tasks', 't1', { title: 'my first task', status: 'pending' });
    expect(await a.pendingCount()).toBe(3);
    const ra = await a.sync();
    expect(ra.pushedVersions).toBe(1);
    expect(await a.pendingCount()).toBe(0);
    const rb = await b.sync();
    expect(rb.reset).toBe('bootstrap'); // a uploaded a snapshot (none existed: urgency high)
    expect(await b.get('tasks', 't1')).toEqual({ title: 'my first task', status: 'pending' });
    await b.update('tasks', 't1', { status: 'completed' });
    await b.create('tasks', 't2', { title: 'second' });
    await b.sync();
    await a.sync();
    expect(await dump(a)).toEqual(await dump(b));
    expect(await a.get('tasks', 't1')).toEqual({ title: 'my first task', status: 'completed' });
  });

  it('conflicting updates: the later timestamp wins on both replicas, a tie goes to the chain', async () => {
    const {
      replicas: { a, b },
      clocks: { a: ca, b: cb },
    } = await clockedReplicas(['a', 'b'], { title: 'x', prio: 'L' });

    ca.set(5_000);
    cb.set(4_000);
    await a.update('tasks', 't', { title: 'from a (later)' });
    await b.update('tasks', 't', { title: 'from b (earlier)' });
    await b.sync(); // b's update reaches the chain first...
    const ra = await a.sync(); // ...but a's later one wins
    expect(ra.dropped).toEqual([]);
    await b.sync();
    expect(await a.get('tasks', 't')).toMatchObject({ title: 'from a (later)' });
    expect(await b.get('tasks', 't')).toMatchObject({ title: 'from a (later)' });

    ca.set(9_000);
    cb.set(9_000);
    await a.update('tasks', 't', { prio: 'A' });
    await b.update('tasks', 't', { prio: 'B' });
    await a.sync(); // a's is in the chain first; b's ties and loses
    const rb = await b.sync();
    expect(rb.dropped).toEqual([
      { type: 'update', collection: 'tasks', id: 't', property: 'prio', value: 'B', timestamp: 9_000 },
    ]);
    await a.sync();
    expect(await a.get('tasks', 't')).toEqual({ title: 'from a (later)', prio: 'A' });
    expect(await dump(b)).toEqual(await dump(a));
  });

  it('a conflict is reported on the side that rebases: overridden when it wins, dropped when it loses', async () => {
    const {
      replicas: { a, b },
      clocks: { a: ca, b: cb },
    } = await clockedReplicas(['a', 'b'], { title: 'x' });
    const events = { a: [] as ReplicaChangeEvent[], b: [] as ReplicaChangeEvent[] };
    a.subscribe((e) => events.a.push(e));
    b.subscribe((e) => events.b.push(e));
    const title = (value: string, timestamp: number) =>
      ({ type: 'update', collection: 'tasks', id: 't', property: 'title', value, timestamp }) as const;
    const syncEvents = (list: ReplicaChangeEvent[]) => list.filter((e) => e.source === 'sync');
    /** A sets the title at `at`, B a second later, neither synced; the events so far are cleared. */
    const concurrentTitles = async (at: number, fromA: string, fromB: string) => {
      ca.set(at);
      cb.set(at + 1_000);
      await a.update('tasks', 't', { title: fromA });
      await b.update('tasks', 't', { title: fromB });
      events.a.length = events.b.length = 0;
    };

    // B's later update beats A's, which reached the chain first: B rebases and wins.
    await concurrentTitles(4_000, 'from a (earlier)', 'from b (later)');
    const ra = await a.sync();
    const rb = await b.sync();
    expect([ra.dropped, ra.overridden]).toEqual([[], []]);
    expect(rb.overridden).toEqual([title('from a (earlier)', 4_000)]);
    expect(rb.dropped).toEqual([]);
    expect(syncEvents(events.b)).toEqual([
      { source: 'sync', objects: [], dropped: [], overridden: [title('from a (earlier)', 4_000)] },
    ]);
    const ra2 = await a.sync(); // A's update is in the chain already: it learns nothing to report
    expect([ra2.dropped, ra2.overridden]).toEqual([[], []]);
    expect(syncEvents(events.a).flatMap((e) => [...e.dropped, ...e.overridden])).toEqual([]);
    for (const r of [a, b]) expect(await r.get('tasks', 't')).toEqual({ title: 'from b (later)' });

    // The other way round: B's later update reaches the chain first; A rebases and loses.
    await concurrentTitles(6_000, 'again from a (earlier)', 'again from b (later)');
    const rb3 = await b.sync();
    const ra3 = await a.sync();
    expect([rb3.dropped, rb3.overridden]).toEqual([[], []]);
    expect(ra3.dropped).toEqual([title('again from a (earlier)', 6_000)]);
    expect(ra3.overridden).toEqual([]);
    expect(syncEvents(events.a)).toEqual([
      {
        source: 'sync',
        objects: [{ collection: 'tasks', id: 't' }],
        dropped: [title('again from a (earlier)', 6_000)],
        overridden: [],
      },
    ]);
    await b.sync();
    for (const r of [a, b]) expect(await r.get('tasks', 't')).toEqual({ title: 'again from b (later)' });
  });

  it('an update that beats one version but loses to a later one in the same pull overrode nothing', async () => {
    const {
      replicas: { a, b, c },
      clocks: { a: ca, b: cb, c: cc },
    } = await clockedReplicas(['a', 'b', 'c'], { title: 'x' });
    ca.set(4_000);
    cb.set(5_000);
    cc.set(6_000);
    await a.update('tasks', 't', { title: 'a' });
    await b.update('tasks', 't', { title: 'b' });
    await c.update('tasks', 't', { title: 'c' });
    await a.sync();
    const rc = await c.sync(); // C beats A
    expect(rc.overridden).toEqual([expect.objectContaining({ property: 'title', value: 'a' })]);
    const rb = await b.sync(); // B beats A's version, then loses to C's (both in one page)
    expect(rb.overridden).toEqual([]);
    expect(rb.dropped).toEqual([expect.objectContaining({ property: 'title', value: 'b' })]);
    expect(await b.get('tasks', 't')).toEqual({ title: 'c' });
  });

  it('create/delete race: delete on one side, delete-and-recreate on the other', async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    const { replica: b } = await open(storage, client);
    await a.create('tasks', 't', { title: 'old' });
    await a.sync();
    await b.sync();
    await a.delete('tasks', 't');
    await b.delete('tasks', 't');
    await b.create('tasks', 't', { title: 'new' });
    await a.sync();
    await b.sync(); // Delete/Delete collapse; b's Create and Updates survive
    await a.sync();
    expect(await a.get('tasks', 't')).toEqual({ title: 'new' });
    expect(await b.get('tasks', 't')).toEqual({ title: 'new' });
  });

  it('delete beats update; create beats delete', async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    const { replica: b } = await open(storage, client);
    await a.create('tasks', 'gone', { n: 1 });
    await a.create('tasks', 'kept', { n: 1 });
    await a.sync();
    await b.sync();
    await a.delete('tasks', 'gone');
    await b.update('tasks', 'gone', { n: 2 });
    await a.delete('tasks', 'kept');
    await b.delete('tasks', 'kept');
    await b.create('tasks', 'kept', { n: 3 });
    await a.sync();
    const rb = await b.sync();
    expect(rb.dropped).toContainEqual(
      expect.objectContaining({ type: 'update', id: 'gone', property: 'n', value: 2 }),
    );
    await a.sync();
    for (const r of [a, b]) {
      expect(await r.get('tasks', 'gone')).toBeNull();
      expect(await r.get('tasks', 'kept')).toEqual({ n: 3 });
    }
  });

  it('both replicas create the same object: Create/Create collapses and the updates merge', async () => {
    const storage = new MemoryStorage();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    const { replica: b } = await open(storage, client);
    await a.create('tasks', 'same', { fromA: true });
    await b.create('tasks', 'same', { fromB: true });
    await a.sync();
    await b.sync();
    await a.sync();
    expect(await a.get('tasks', 'same')).toEqual({ fromA: true, fromB: true });
    expect(await dump(b)).toEqual(await dump(a));
  });

  it('batches large pushes into several versions', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client, { maxOperationsPerVersion: 10 });
    const { replica: b } = await open(storage, client, { pullPageSize: 2 });
    await b.create('tasks', 'from-b');
    await b.sync(); // b's base is now a real version: it will pull, not bootstrap
    await a.change(
      Array.from({ length: 25 }, (_, i) => ({ type: 'create' as const, collection: 'tasks', id: `t${i}` })),
    );
    const ra = await a.sync();
    expect(ra.pushedVersions).toBe(3);
    expect(ra.pushedOperations).toBe(25);
    expect((await storage.chain()).length).toBe(4);
    const rb = await b.sync();
    expect(rb.pulledVersions).toBe(3);
    expect((await b.list('tasks')).length).toBe(26);
    expect(await dump(b)).toEqual(await dump(a));
  });

  it('rebases every batch, including those after the first (TaskChampion #686)', async () => {
    const inner = new MemoryStorage();
    const client = crypto.randomUUID();
    const ca = clock(1_000);
    const cb = clock(1_000);
    const { replica: b } = await open(inner, client, { clock: cb });
    // After a's first batch lands, b pushes a later update of the property a's second batch sets.
    let hooked = false;
    const storage: Storage = {
      txn: async (id) => {
        const txn = await inner.txn(id);
        return forwardingTxn(txn, {
          commit: async () => {
            await txn.commit();
            if (!hooked) {
              hooked = true;
              cb.set(3_000);
              await b.sync();
              await b.update('tasks', 'x', { title: 'from b, later' });
              await b.sync();
            }
          },
        });
      },
    };
    const { replica: a } = await open(storage, client, { clock: ca, maxOperationsPerVersion: 2 });
    await a.create('tasks', 'x'); // batch 1: create x, plus one more op
    await a.create('tasks', 'y');
    ca.set(2_000);
    await a.update('tasks', 'x', { title: 'from a, earlier' }); // batch 2
    const ra = await a.sync();
    expect(ra.dropped).toEqual([
      {
        type: 'update',
        collection: 'tasks',
        id: 'x',
        property: 'title',
        value: 'from a, earlier',
        timestamp: 2_000,
      },
    ]);
    await b.sync();
    expect(await a.get('tasks', 'x')).toEqual({ title: 'from b, later' });
    expect(await b.get('tasks', 'x')).toEqual({ title: 'from b, later' });
  });

  it('catches up many versions in pages, without one round trip per version', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client, { maxOperationsPerVersion: 1 });
    const { replica: b } = await open(storage, client); // default page: 100 versions
    await b.create('c', 'from-b');
    await b.sync();
    await a.change(
      Array.from({ length: 250 }, (_, i) => ({ type: 'create' as const, collection: 'c', id: `o${i}` })),
    );
    await a.sync({ avoidSnapshots: true });
    expect((await storage.chain()).length).toBe(251);
    storage.resetCounts();
    const rb = await b.sync();
    expect(rb.pulledVersions).toBe(250);
    // 100 + 100 + 50 in three bulk reads, never one version at a time...
    expect(storage.calls.getVersionsAfter).toBe(3);
    expect(storage.calls.getVersion).toBe(0);
    expect(storage.calls.getVersionByParent).toBe(0);
    // ...and the Storage serves them without a read of the server per version either.
    expect(storage.serverReads).toBeLessThan(rb.pulledVersions);
    expect((await b.list('c')).length).toBe(251);
  });
});

describe('sync: concurrency', () => {
  it('local writes made while a sync runs are kept and pushed by the next sync', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client, { maxOperationsPerVersion: 3 });
    const { replica: b } = await open(storage, client);
    await b.create('tasks', 'from-b');
    await b.sync();
    await a.change(
      Array.from({ length: 20 }, (_, i) => ({ type: 'create' as const, collection: 'tasks', id: `x${i}` })),
    );
    const running = a.sync();
    const writes = Array.from({ length: 20 }, (_, i) => a.create('tasks', `during${i}`, { i }));
    const second = a.sync(); // queued behind the first
    await Promise.all([running, ...writes, second]);
    await a.sync();
    expect(await a.pendingCount()).toBe(0);
    await b.sync();
    expect((await b.list('tasks')).length).toBe(41);
    expect(await dump(b)).toEqual(await dump(a));
  });
});

describe('sync: snapshots', () => {
  it('uploads a snapshot when urgency is high, and a fresh replica bootstraps from it', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    await a.create('tasks', 't1', { title: 'one' });
    const r1 = await a.sync(); // no snapshot yet: urgency high
    expect(r1.snapshotUploaded).toBe(true);
    expect((await storage.client())?.snapshot?.versionId).toBe((await storage.chain())[0]!.versionId);
    await a.create('tasks', 't2', { title: 'two' });
    await a.update('tasks', 't1', { title: 'one!' });
    expect((await a.sync()).snapshotUploaded).toBe(false);

    const { replica: fresh } = await open(storage, client);
    await fresh.create('notes', 'n', { text: 'offline before first sync' });
    const rf = await fresh.sync();
    expect(rf.reset).toBe('bootstrap');
    expect(rf.pulledVersions).toBe(1); // only the version after the snapshot
    expect(await dump(fresh)).toEqual(await dump(a));
    await a.sync();
    expect(await a.get('notes', 'n')).toEqual({ text: 'offline before first sync' });
  });

  it('avoids a low-urgency snapshot when asked, but not a high-urgency one', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const policy = { versions: 4, days: 14 };
    const { replica: a } = await open(storage, client, { snapshotPolicy: policy });
    await a.create('tasks', 'a');
    expect((await a.sync({ avoidSnapshots: true })).snapshotUploaded).toBe(true); // none yet: high
    await a.create('tasks', 'b');
    await a.sync({ avoidSnapshots: true });
    await a.create('tasks', 'c');
    const low = await a.sync({ avoidSnapshots: true }); // 2 versions since: low
    expect(low.snapshotUploaded).toBe(false);
    expect((await storage.client())?.snapshot?.versionsSince).toBe(2);
    await a.create('tasks', 'd');
    await a.sync({ avoidSnapshots: true });
    await a.create('tasks', 'e');
    const high = await a.sync({ avoidSnapshots: true }); // 4 since: high
    expect(high.snapshotUploaded).toBe(true);
    expect((await storage.client())?.snapshot?.versionsSince).toBe(0);
    await a.create('tasks', 'f');
    await a.sync();
    await a.create('tasks', 'g');
    expect((await a.sync()).snapshotUploaded).toBe(true); // low, not avoided
  });

  it('a snapshot that fails after the versions landed is reported, not thrown, and retried by the next sync', async () => {
    const inner = controlledChains.open();
    let refuseSnapshots = true;
    // A server that refuses the snapshot's upload (too big for its body limit), not the versions.
    const storage: Storage = {
      txn: async (id) => {
        const txn = await inner.txn(id);
        let snapshot = false;
        return forwardingTxn(txn, {
          setSnapshot: (meta, data) => {
            snapshot = true;
            return txn.setSnapshot(meta, data);
          },
          commit: () =>
            snapshot && refuseSnapshots
              ? Promise.reject(new DeterminateRemoteError('injected: 413 Payload Too Large', { status: 413 }))
              : txn.commit(),
        });
      },
    };
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    await a.create('tasks', 't', { n: 1 });
    const r1 = await a.sync();
    expect(r1).toMatchObject({ pushedVersions: 1, snapshotUploaded: false });
    expect(r1.snapshotError).toMatchObject({ code: 'REMOTE_FAILED', fields: { status: 413 } });
    expect(await a.pendingCount()).toBe(0);
    expect((await inner.chain()).length).toBe(1);
    expect((await inner.client())?.snapshot).toBeNull();
    refuseSnapshots = false;
    const r2 = await a.sync(); // nothing to push: the snapshot still owed is retried
    expect(r2).toMatchObject({ pushedVersions: 0, snapshotUploaded: true, snapshotError: null });
    expect((await inner.client())?.snapshot?.versionId).toBe((await inner.chain())[0]!.versionId);
  });

  it('a replica whose base was pruned recovers from the snapshot and keeps its pending operations', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    const { replica: b } = await open(storage, client);
    await a.create('tasks', 'shared', { v: 0 });
    await a.sync();
    await b.sync();
    await b.update('tasks', 'shared', { offline: 'edit' });
    await b.create('tasks', 'mine', { v: 1 });
    for (let i = 0; i < 3; i++) {
      await a.create('tasks', `a${i}`);
      await a.sync();
    }
    await a.update('tasks', 'shared', { v: 9 });
    await a.sync({ avoidSnapshots: false });
    // force a snapshot at the head, then prune everything up to it
    const { replica: c } = await open(storage, client, { snapshotPolicy: { versions: 1, days: 14 } });
    await c.create('tasks', 'c');
    expect((await c.sync()).snapshotUploaded).toBe(true);
    await a.sync();
    await a.create('tasks', 'after-snapshot');
    expect((await a.sync()).snapshotUploaded).toBe(false);
    expect(await storage.prune()).toBeGreaterThan(1); // everything up to the snapshot; one version follows it
    expect((await storage.chain()).length).toBe(1);

    const rb = await b.sync();
    expect(rb.reset).toBe('recovered');
    expect(rb.pushedOperations).toBe(3); // update shared.offline, create mine, update mine.v
    await a.sync();
    await c.sync();
    const expected = await dump(a);
    expect(await dump(b)).toEqual(expected);
    expect(await dump(c)).toEqual(expected);
    expect(await a.get('tasks', 'shared')).toEqual({ v: 9, offline: 'edit' });
    expect(await a.get('tasks', 'mine')).toEqual({ v: 1 });
    expect(await b.get('tasks', 'after-snapshot')).toEqual({});
  });
});

describe('sync: pruned base with a push in flight', () => {
  it('a push that landed before the snapshot is recognised during recovery, not sent again', async () => {
    const inner = controlledChains.open();
    const plan: ('none' | 'fail-before' | 'fail-after')[] = [];
    const storage = new FaultyStorage(inner, () => plan.shift() ?? 'none');
    const client = crypto.randomUUID();
    const { replica: a, store } = await open(storage, client);
    const { replica: b } = await open(inner, client, { snapshotPolicy: { versions: 1, days: 14 } });
    await a.create('tasks', 'base');
    await a.sync();
    await a.create('tasks', 'mine', { n: 1 });
    // pull: getClient (its base is the latest: no getVersionsAfter); push: getClient, commit
    // applied-then-fails, read-back fails
    plan.push('none', 'none', 'fail-after', 'fail-before');
    await expect(a.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    const inFlight = (await store.readState()).inFlight;
    expect(inFlight).not.toBeNull();
    await b.sync();
    await b.create('tasks', 'b1');
    await b.sync();
    await b.create('tasks', 'b2');
    expect((await b.sync()).snapshotUploaded).toBe(true);
    const [first] = await inner.chain();
    expect(await inner.prune(first!.versionId, { forgetLinks: true })).toBe(1); // a's base is gone, its push is not
    expect(
      await inner.txn(client).then((t) => t.getVersion(inFlight!.versions[0]!.versionId)),
    ).not.toBeNull();

    const r = await a.sync();
    expect(r.reset).toBe('recovered');
    expect(r.pushedVersions).toBe(0);
    expect(await a.pendingCount()).toBe(0);
    const ops = (await inner.chain()).length;
    await b.sync();
    expect((await inner.chain()).length).toBe(ops);
    expect(await dump(a)).toEqual(await dump(b));
    expect(await a.get('tasks', 'mine')).toEqual({ n: 1 });
  });
});

describe('sync: remote faults', () => {
  it('a push that lands but reports an indeterminate error is resolved by reading back, not duplicated', async () => {
    const inner = controlledChains.open();
    let faults = ['fail-after'];
    const storage = new FaultyStorage(inner, (call) =>
      call === 'commit' ? ((faults.shift() as 'fail-after') ?? 'none') : 'none',
    );
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    await a.create('tasks', 't', { n: 1 });
    const r = await a.sync();
    expect(r.pushedVersions).toBe(1);
    expect((await inner.chain()).length).toBe(1);
    expect(await a.pendingCount()).toBe(0);
    faults = [];
  });

  it('an unresolved push is recognised by its id on the next sync, never pushed twice', async () => {
    const inner = controlledChains.open();
    const plan: ('none' | 'fail-before' | 'fail-after')[] = [];
    const storage = new FaultyStorage(inner, () => plan.shift() ?? 'none');
    const client = crypto.randomUUID();
    const { replica: a, store } = await open(storage, client);
    await a.create('tasks', 't', { n: 1 });
    // getClient ok, (pull: getVersionsAfter not reached: empty chain), push: getClient ok,
    // commit applied-then-fails, read-back fails.
    plan.push('none', 'none', 'fail-after', 'fail-before');
    await expect(a.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await inner.chain()).length).toBe(1);
    expect((await store.readState()).inFlight).not.toBeNull();
    expect(await a.pendingCount()).toBe(2);
    const r = await a.sync();
    expect(r.pushedVersions).toBe(1);
    expect(await a.pendingCount()).toBe(0);
    expect((await inner.chain()).length).toBe(1);
    const { replica: b } = await open(inner, client);
    await b.sync();
    expect(await b.get('tasks', 't')).toEqual({ n: 1 });
  });

  it('a push of several versions cut off after its second resumes under the same ids: each op lands once', async () => {
    const inner = controlledChains.open();
    const plan: ('none' | 'fail-before' | 'fail-after')[] = [];
    const storage = new FaultyStorage(inner, () => plan.shift() ?? 'none');
    const client = crypto.randomUUID();
    const { replica: a, store } = await open(storage, client, { maxOperationsPerVersion: 2 });
    await a.change(['t1', 't2', 't3', 't4', 't5'].map((id) => ({ type: 'create', collection: 'tasks', id })));
    // pull: getClient; version 1: getClient, commit; version 2: getClient, commit applied then
    // dropped, read-back fails. Version 3 is never sent.
    plan.push('none', 'none', 'none', 'none', 'fail-after', 'fail-before');
    await expect(a.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await inner.chain()).length).toBe(2);
    // The first version is folded in; the second may have landed, so it stays in flight with the third.
    const state = await store.readState();
    expect(state.baseHeight).toBe(1);
    expect(state.inFlight?.versions.map((v) => v.count)).toEqual([2, 1]);
    expect(state.inFlight?.parentVersionId).toBe(state.baseVersionId);
    expect(await a.pendingCount()).toBe(3);

    const r = await a.sync();
    expect(r).toMatchObject({ pushedVersions: 2, pushedOperations: 3, pulledVersions: 0 });
    // The second version was recognised when pulled, the third pushed: both count as this sync's.
    expect(r.pushedVersionIds).toEqual(state.inFlight?.versions.map((v) => v.versionId));
    const chain = await inner.chain();
    expect(chain.map((v) => v.versionId)).toEqual(
      state.inFlight ? [state.baseVersionId, ...state.inFlight.versions.map((v) => v.versionId)] : [],
    );
    expect(await a.pendingCount()).toBe(0);
    expect((await store.readState()).inFlight).toBeNull();
    const { replica: b } = await open(inner, client);
    await b.sync();
    expect(await dump(b)).toEqual(['t1', 't2', 't3', 't4', 't5'].map((id) => [id, {}]));
  });

  it('a page that fails to download while the one before is applied fails the sync cleanly', async () => {
    const inner = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(inner, client, { maxOperationsPerVersion: 1 });
    await a.create('tasks', 'seed');
    await a.sync();
    // B applies slowly (each local commit waits a macrotask), in pages of one version.
    const store = new (class extends MemoryReplicaStore {
      override async commit(write: Parameters<MemoryReplicaStore['commit']>[0]): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return super.commit(write);
      }
    })();
    let reads = 0;
    let failRead = 0;
    const storage = new FaultyStorage(inner, (call) =>
      call === 'read' && ++reads === failRead ? 'fail-before' : 'none',
    );
    const b = await Replica.open({ store, storage, clientId: client, pullPageSize: 1 });
    await b.sync();
    await a.change(['t1', 't2', 't3'].map((id) => ({ type: 'create', collection: 'tasks', id })));
    await a.sync();
    // Reads: the client, the first page, then the second page, fetched while the first applies.
    reads = 0;
    failRead = 3;
    await expect(b.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect(await dump(b)).toEqual([
      ['seed', {}],
      ['t1', {}],
    ]);
    failRead = 0;
    await b.sync();
    expect(await dump(b)).toEqual(await dump(a));
  });

  it('a determinate failure changes nothing; the next sync pushes', async () => {
    const inner = controlledChains.open();
    let fail = true;
    const storage = new FaultyStorage(inner, (call) => (call === 'commit' && fail ? 'fail-before' : 'none'));
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    await a.create('tasks', 't');
    await expect(a.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await inner.chain()).length).toBe(0);
    expect(await a.pendingCount()).toBe(1);
    fail = false;
    await a.sync();
    expect((await inner.chain()).length).toBe(1);
    expect(await a.pendingCount()).toBe(0);
  });
});

describe('sync: hostile sizes', () => {
  it('a version that inflates past maxDecodedBytes (a decompression bomb) is CHAIN_INTEGRITY; nothing local changes', async () => {
    const storage = controlledChains.open();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, client);
    const { replica: b, store } = await open(storage, client, { maxDecodedBytes: 1024 * 1024 });
    await a.create('tasks', 'first');
    await a.sync();
    await b.sync();
    await a.create('tasks', 'second');
    await a.sync();
    const [first, second] = await storage.chain();
    // The server (of an unencrypted chain) swaps in a body valid for the place, inflating to 8 MiB.
    const place = {
      clientId: client,
      versionId: second!.versionId,
      parentVersionId: first!.versionId,
      height: 2,
    };
    const bomb = await plainGzipped(paddedSegmentBody(place, 8 * 1024 * 1024));
    await storage.replaceVersion(second!.versionId, (v) => ({ ...v, historySegment: bomb }));
    const before = { state: await store.readState(), objects: await store.listObjects() };
    const error = await rejectsWith(b.sync(), 'CHAIN_INTEGRITY');
    expect(error.message).toMatch(/Nothing local was changed/);
    expect({ state: await store.readState(), objects: await store.listObjects() }).toEqual(before);
  });
});
