/**
 * Compaction of a RemoteStorage chain (issue 12, item 1; docs/compaction.md): what it deletes and
 * keeps, the retention window, bounded and resumable runs, two compactors at once, and a stale
 * transaction that claims a name compaction freed.
 *
 * Over a MemoryRemoteBackend here; remote-compaction.server.node.test.ts and
 * remote-compaction.s3.node.test.ts run the same cases on the reference server and Ceph RGW by
 * setting `remoteSlot.backend` (a backend that can LIST: the cases count what is left).
 */
import { describe, expect, it } from 'vitest';
import { DeterminateRemoteError } from '../contracts/errors.js';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { utf8 } from '../core/bytes.js';
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';
import { FaultyStorage } from '../test-support/controlled-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from '../sync/replica.js';
import type { SyncResult } from '../contracts/replica.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { buildChain } from '../test-support/build-chain.js';
import type { CompactionOptions, CompactionReport } from '../contracts/storage.js';
import { RemoteStorage } from './remote-storage.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
const PREFIX = `compaction-${remoteSlot.run}`;

/** The backend of a case: the rerunning file's, or a fresh one in memory. */
function backendForCase(): AtomicRemoteBackend {
  return remoteSlot.backend ?? new MemoryRemoteBackend();
}

/** `inner`, counting the reads of commit records (`c/<n>`) into `reads.records`. */
function countingRecordReads(inner: AtomicRemoteBackend, reads: { records: number }): AtomicRemoteBackend {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'downloadVersioned' || property === 'download') {
        return (key: string) => {
          if (/\/c\/\d+$/.test(key)) reads.records++;
          return property === 'download' ? target.download(key) : target.downloadVersioned(key);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** `inner` whose deletes fail (determinately, nothing deleted) once `budget.left` is spent. */
function failingDeletes(inner: AtomicRemoteBackend, budget: { left: number }): AtomicRemoteBackend {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'delete') {
        return async (key: string) => {
          if (budget.left-- <= 0)
            throw new DeterminateRemoteError('injected: delete refused', { status: 403 }); // not retried
          return target.delete(key);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * A chain of `count` one-version commits (commit 1 creates the client, version `i` is commit
 * `i + 2`), with a snapshot-only commit after each version index in `snapshots` (timestamp: the
 * value given). Returns the version ids.
 */
function chainWithSnapshots(
  storage: RemoteStorage,
  client: Uuid,
  count: number,
  snapshots: ReadonlyMap<number, number> = new Map(),
): Promise<Uuid[]> {
  return buildChain(storage, client, count, async (i, id) => {
    const at = snapshots.get(i);
    if (at === undefined) return;
    const txn = await storage.txn(client);
    await txn.setSnapshot({ versionId: id, timestamp: at, versionsSince: 0 }, utf8(`snapshot of ${i}`));
    await txn.commit();
  });
}

/** The chain's objects, by kind. */
async function objects(backend: AtomicRemoteBackend, client: Uuid) {
  const dir = `${PREFIX}/${client}/`;
  if (!backend.list) throw new Error('these cases count objects: connect the backend with LIST');
  const names = (await backend.list(dir)).map((n) => n.slice(dir.length));
  const of = (kind: string) =>
    names.filter((n) => n.startsWith(`${kind}/`)).map((n) => n.slice(kind.length + 1));
  return {
    records: of('c').map(Number),
    /** Versions findable by id (`i/`) and by parent (`p/<parent>`). */
    ids: new Set(of('i')),
    parents: new Set(of('p')),
    packs: of('k').map(Number),
    snapshots: of('s'),
  };
}

async function compactAll(storage: RemoteStorage, client: Uuid, options: CompactionOptions) {
  const reports: CompactionReport[] = [];
  do reports.push(await storage.compact(client, options));
  while (reports.at(-1)?.more && reports.length < 100);
  return reports;
}

/**
 * The chain most cases compact: 100 versions (commits 2 … 101) and a snapshot of version 89 (held
 * by commit 91, set by commit 102), compacted keeping 20 commits behind it: the floor is 72.
 */
const VERSIONS = 100;
const COMMITS = VERSIONS + 2;
const snapshotAt89 = new Map([[89, T0]]);
const window = { keepCommits: 20, keepDays: 30, now: T0 + 31 * DAY };
const FLOOR = 89 + 2 - 20 + 1;
/** Versions in the commits below the floor (commit 1 holds none). */
const GONE = FLOOR - 2;

/**
 * The state after that compaction: commits 1 … 71 are gone with the indexes of their versions
 * (0 … 69) and the pack of commits 1 … 64 (the only complete one); commit 72 on are kept.
 */
async function expectCompacted(backend: AtomicRemoteBackend, client: Uuid, ids: Uuid[]) {
  const left = await objects(backend, client);
  expect(Math.min(...left.records)).toBe(FLOOR);
  expect(left.records.length).toBe(COMMITS - (FLOOR - 1));
  expect(ids.filter((id) => left.ids.has(id))).toEqual(ids.slice(GONE));
  // p/<parent> belongs to the commit of the child: the last version compacted away keeps its own.
  expect([NIL_UUID, ...ids].filter((id) => left.parents.has(id))).toEqual(ids.slice(GONE - 1, -1));
  expect(left.packs).toEqual([]);
  expect(left.snapshots.length).toBe(1);
}

describe('RemoteStorage.compact', () => {
  it('deletes what lies more than keepCommits behind the snapshot and older than keepDays, and nothing else', async () => {
    const backend = backendForCase();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, VERSIONS, snapshotAt89);
    expect((await objects(backend, client)).records.length).toBe(COMMITS);

    const report = await storage.compact(client, { ...window, maxDeletes: 10_000 });
    // retainedFrom: the parent of the first version kept (remote blob GC reads from there).
    expect(report).toMatchObject({ floor: FLOOR, swept: FLOOR, more: false, retainedFrom: ids[GONE - 1] });
    expect(report.deleted).toBe(FLOOR - 1 + 2 * GONE + 1); // records, their versions' i/p indexes, one pack
    await expectCompacted(backend, client, ids);

    // What remains reads as before, from a fresh instance: the head, the snapshot, and a replica
    // whose base is the last version compacted away still catches up by versions.
    const fresh = await new RemoteStorage(backend, { prefix: PREFIX }).txn(client);
    expect((await fresh.getClient())?.latestVersionId).toBe(ids.at(-1));
    expect(await fresh.getSnapshotData(ids[89]!)).toEqual(utf8('snapshot of 89'));
    const last = ids[GONE - 1]!;
    expect((await fresh.getVersionsAfter(last, 5)).map((v) => v.versionId)).toEqual(
      ids.slice(GONE, GONE + 5),
    );
    expect(await fresh.getVersion(last)).toBeNull();
    expect(await fresh.getVersion(ids[GONE]!)).not.toBeNull();
    // A replica further behind finds nothing after its base: it recovers from the snapshot.
    expect(await fresh.getVersionsAfter(ids[40]!, 5)).toEqual([]);
    expect(await fresh.getVersionByParent(ids[40]!)).toBeNull();

    // Compacting again changes nothing.
    expect(await storage.compact(client, { ...window, maxDeletes: 10_000 })).toMatchObject({
      floor: FLOOR,
      deleted: 0,
      more: false,
    });
  });

  it('keeps everything younger than keepDays, however far behind the snapshot', async () => {
    const backend = backendForCase();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, VERSIONS, snapshotAt89);
    const early = await storage.compact(client, { ...window, now: T0 + 29 * DAY });
    expect(early).toEqual({ floor: 1, swept: 1, deleted: 0, more: false, retainedFrom: NIL_UUID });
    expect((await objects(backend, client)).records.length).toBe(COMMITS);
    // The snapshot was marked on that run: its age counts from its own timestamp, not the run's.
    await compactAll(storage, client, window);
    await expectCompacted(backend, client, ids);
  });

  it('deletes at most maxDeletes objects per call, whole commits at a time, until done', async () => {
    const backend = backendForCase();
    const reads = { records: 0 };
    const storage = new RemoteStorage(countingRecordReads(backend, reads), { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, VERSIONS, snapshotAt89);
    const reports: CompactionReport[] = [];
    const readsPerCall: number[] = [];
    do {
      reads.records = 0;
      reports.push(await storage.compact(client, { ...window, maxDeletes: 40 }));
      readsPerCall.push(reads.records);
    } while (reports.at(-1)?.more && reports.length < 100);
    expect(reports.length).toBeGreaterThan(5); // 212 objects, 40 at most per call
    for (const r of reports) expect(r.deleted).toBeLessThanOrEqual(40);
    // A call reads about the commits it deletes (3 objects each), not one per object it may delete.
    for (const n of readsPerCall) expect(n).toBeLessThan(20);
    expect(reports.map((r) => r.swept)).toEqual([...reports.map((r) => r.swept)].sort((a, b) => a - b));
    expect(reports.at(-1)).toMatchObject({ floor: FLOOR, swept: FLOOR, more: false });
    await expectCompacted(backend, client, ids);
  });

  it('a run cut off half way is finished by the next one, from another instance', async () => {
    const budget = { left: Infinity };
    const backend = backendForCase();
    const storage = new RemoteStorage(failingDeletes(backend, budget), { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, VERSIONS, snapshotAt89);
    // Cut off before its first delete: the floor is raised all the same, and readers already
    // skip what lies below it, though every object is still there.
    budget.left = 0;
    const run = () => storage.compact(client, { ...window, maxDeletes: 10_000 });
    await expect(run()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await objects(backend, client)).records.length).toBe(COMMITS);
    const fresh = await new RemoteStorage(backend, { prefix: PREFIX }).txn(client);
    expect(await fresh.getVersion(ids[10]!)).toBeNull();
    expect(await fresh.getVersionsAfter(ids[10]!, 5)).toEqual([]);
    expect(await fresh.getVersion(ids[GONE]!)).not.toBeNull();
    // Cut off again in the middle of the index deletes.
    budget.left = 100;
    await expect(run()).rejects.toBeInstanceOf(DeterminateRemoteError);
    budget.left = Infinity;
    await compactAll(new RemoteStorage(backend, { prefix: PREFIX }), client, { ...window, maxDeletes: 60 });
    await expectCompacted(backend, client, ids);
  });

  it('two compactors at once do no harm', async () => {
    const backend = backendForCase();
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(
      new RemoteStorage(backend, { prefix: PREFIX }),
      client,
      VERSIONS,
      snapshotAt89,
    );
    const a = new RemoteStorage(backend, { prefix: PREFIX });
    const b = new RemoteStorage(backend, { prefix: PREFIX });
    await Promise.all([
      compactAll(a, client, { ...window, maxDeletes: 30 }),
      compactAll(b, client, { ...window, maxDeletes: 30 }),
    ]);
    await expectCompacted(backend, client, ids);
    expect(await a.compact(client, window)).toMatchObject({ floor: FLOOR, swept: FLOOR, deleted: 0 });
  });

  it('deletes a snapshot only commits below the floor name, and keeps the current one', async () => {
    const backend = backendForCase();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    // Snapshot S1 of version 9 (set in commit 12), S2 of version 29 (held by commit 32, set in 33).
    const ids = await chainWithSnapshots(
      storage,
      client,
      35,
      new Map([
        [9, T0 - DAY],
        [29, T0],
      ]),
    );
    expect((await objects(backend, client)).snapshots.length).toBe(2);
    const report = await storage.compact(client, {
      keepCommits: 0,
      keepDays: 0,
      now: T0,
      maxDeletes: 10_000,
    });
    expect(report).toMatchObject({ floor: 33, swept: 33, more: false });
    expect((await objects(backend, client)).snapshots.length).toBe(1);
    const fresh = await storage.txn(client);
    expect(await fresh.getSnapshotData(ids[29]!)).toEqual(utf8('snapshot of 29'));
  });

  it('a transaction that read the chain before it was compacted cannot commit into a freed name', async () => {
    const backend = backendForCase();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, 4);
    // A writer reads the chain at commit 5 (4 versions) and stalls before committing.
    const stale = await storage.txn(client);
    expect((await stale.getClient())?.latestVersionId).toBe(ids[3]);
    const mine = crypto.randomUUID();
    await stale.addVersion(mine, ids[3]!, utf8('stale'));
    // Meanwhile the chain moves on, is snapshotted and compacted past commit 6.
    let parent = ids[3]!;
    for (let i = 0; i < 20; i++) {
      const id = crypto.randomUUID();
      const txn = await storage.txn(client);
      await txn.addVersion(id, parent, utf8(`w${i}`));
      await txn.commit();
      parent = id;
    }
    const snap = await storage.txn(client);
    await snap.setSnapshot({ versionId: parent, timestamp: T0, versionsSince: 0 }, utf8('snapshot'));
    await snap.commit();
    const report = await storage.compact(client, {
      keepCommits: 5,
      keepDays: 0,
      now: T0,
      maxDeletes: 10_000,
    });
    expect(report.swept).toBeGreaterThan(6);
    expect((await objects(backend, client)).records).not.toContain(6);

    await rejectsWith(stale.commit(), 'TRANSACTION_CONFLICT');
    // Nothing of it is left to mislead a reader, and the chain is whole.
    expect((await objects(backend, client)).records).not.toContain(6);
    const fresh = await new RemoteStorage(backend, { prefix: PREFIX }).txn(client);
    expect(await fresh.getVersion(mine)).toBeNull();
    expect(await fresh.getVersionsAfter(ids[3]!, 5)).toEqual([]);
    expect((await fresh.getClient())?.latestVersionId).toBe(parent);
  });

  it('rejects a bad client id or option with INVALID_ARGUMENT', async () => {
    const storage = new RemoteStorage(backendForCase(), { prefix: PREFIX });
    const client = crypto.randomUUID();
    await rejectsWith(storage.compact('not-a-uuid'), 'INVALID_ARGUMENT');
    for (const options of [
      { keepCommits: -1 },
      { keepDays: 1.5 },
      { maxDeletes: 0 },
      { now: Number.NaN },
    ] as CompactionOptions[]) {
      await rejectsWith(storage.compact(client, options), 'INVALID_ARGUMENT');
    }
    expect(await storage.compact(client)).toEqual({ floor: 1, swept: 1, deleted: 0, more: false });
  });
});

/**
 * Items 1 and 3 together: a replica offline with a push in flight while the chain is compacted
 * by RemoteStorage.compact comes back; its operations are applied exactly once.
 */
describe('compaction while a replica is offline with a push in flight', () => {
  async function scene() {
    const backend = backendForCase();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const faults: ('none' | 'fail-before' | 'fail-after')[] = [];
    const clientId = crypto.randomUUID();
    const store = new MemoryReplicaStore();
    const a = await Replica.open({
      store,
      clientId,
      storage: new FaultyStorage(storage, () => faults.shift() ?? 'none'),
    });
    const b = await Replica.open({
      store: new MemoryReplicaStore(),
      clientId,
      storage,
      snapshotPolicy: { versions: 1, days: 14 },
    });
    await a.create('tasks', 'base');
    await a.sync();
    await b.sync();
    /** `b` pulls, does `work` and snapshots; then everything up to the snapshot is compacted. */
    const compact = async (work: () => Promise<void>) => {
      await b.sync();
      await work();
      expect((await b.sync()).snapshotUploaded).toBe(true);
      const now = Date.now() + DAY;
      const [report] = await compactAll(storage, clientId, { keepCommits: 0, keepDays: 0, now });
      expect(report?.swept).toBeGreaterThan(3);
      for (const v of (await store.readState()).inFlight?.versions ?? []) {
        expect(await (await storage.txn(clientId)).getVersion(v.versionId)).toBeNull();
      }
    };
    const dump = async (r: Replica) => (await r.list('tasks')).map((o) => [o.id, o.properties]);
    return { a, b, store, faults, compact, dump };
  }

  it('a push that landed and was compacted away is not sent again', async () => {
    const { a, b, store, faults, compact, dump } = await scene();
    await a.create('tasks', 'mine', { n: 1 });
    // pull: getClient (at the latest: nothing after it is asked for); push: getClient, commit
    // applied then dropped, read-back fails
    faults.push('none', 'none', 'fail-after', 'fail-before');
    await expect(a.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await store.readState()).inFlight).not.toBeNull();
    await compact(async () => {
      await b.delete('tasks', 'mine'); // pushed again, a's Create would bring it back
    });

    const r = await a.sync();
    expect(r).toMatchObject({ reset: 'recovered', pushedVersions: 0, pushedOperations: 0 });
    expect(await a.pendingCount()).toBe(0);
    await b.sync();
    expect(await dump(a)).toEqual([['base', {}]]);
    expect(await dump(b)).toEqual([['base', {}]]);
  });

  it('a push that never landed is sent once', async () => {
    const { a, b, store, faults, compact, dump } = await scene();
    await a.create('tasks', 'mine', { n: 1 });
    faults.push('none', 'none', 'fail-before'); // pull and push getClient, then the commit is refused
    await expect(a.sync()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await store.readState()).inFlight).not.toBeNull();
    await compact(async () => {
      await b.create('tasks', 'b1');
    });

    const r = await a.sync();
    expect(r).toMatchObject({ reset: 'recovered', pushedVersions: 1, pushedOperations: 2 });
    await b.sync();
    const expected = [
      ['b1', {}],
      ['base', {}],
      ['mine', { n: 1 }],
    ];
    expect(await dump(a)).toEqual(expected);
    expect(await dump(b)).toEqual(expected);
  });
});

/** Item 1's trigger: the replica that uploads a snapshot compacts behind it. */
describe('ReplicaOptions.compaction: the replica that snapshots compacts behind it', () => {
  /** A replica of a new chain that snapshots every `snapshotEvery` versions, compacting with `compaction`. */
  async function openWriter(
    backend: AtomicRemoteBackend,
    snapshotEvery: number,
    compaction?: CompactionOptions,
  ) {
    const clientId = crypto.randomUUID();
    const replica = await Replica.open({
      store: new MemoryReplicaStore(),
      storage: new RemoteStorage(backend, { prefix: PREFIX }),
      clientId,
      clock: () => T0,
      snapshotPolicy: { versions: snapshotEvery, days: 14 },
      ...(compaction ? { compaction } : {}),
    });
    return { clientId, replica };
  }

  /** A writer that creates 30 objects, syncing after each. */
  async function writer(backend: AtomicRemoteBackend, compaction?: CompactionOptions) {
    const { clientId, replica } = await openWriter(backend, 10, compaction);
    const results = [];
    for (let i = 0; i < 30; i++) {
      await replica.create('tasks', `t${i}`);
      results.push(await replica.sync());
    }
    return { clientId, replica, results };
  }

  it('compacts after each snapshot in bounded calls, continuing on later syncs until done', async () => {
    const backend = backendForCase();
    const { clientId, replica, results } = await writer(backend, {
      keepCommits: 5,
      keepDays: 0,
      maxDeletes: 10,
    });
    const ran = results.filter((r) => r.compaction !== undefined);
    expect(ran.length).toBeGreaterThan(0);
    for (const r of ran) {
      expect(r.compaction).toHaveProperty('report');
      if (r.compaction && 'report' in r.compaction)
        expect(r.compaction.report.deleted).toBeLessThanOrEqual(10);
    }
    // Syncs with nothing to push finish what the last snapshot's compaction left.
    const reportOf = (r: SyncResult | undefined) =>
      r?.compaction && 'report' in r.compaction ? r.compaction.report : null;
    // Some call had more to do than its 10 deletes: the next sync went on with it.
    expect(ran.some((r) => reportOf(r)?.more)).toBe(true);
    let report = ran.map(reportOf).at(-1);
    for (let i = 0; i < 20 && report?.more; i++) {
      const r = await replica.sync();
      expect(r.pushedVersions).toBe(0);
      report = reportOf(r);
    }
    expect(report).toMatchObject({ more: false });
    const floor = report?.floor ?? 0;
    expect(floor).toBeGreaterThan(10);
    expect(Math.min(...(await objects(backend, clientId)).records)).toBe(floor);
    // A fresh replica bootstraps from what is left and holds the same data.
    const fresh = await Replica.open({
      store: new MemoryReplicaStore(),
      storage: new RemoteStorage(backend, { prefix: PREFIX }),
      clientId,
    });
    expect((await fresh.sync()).reset).toBe('bootstrap');
    expect(await fresh.list('tasks')).toEqual(await replica.list('tasks'));
  });

  it('without the option nothing is deleted', async () => {
    const backend = backendForCase();
    const { clientId, results } = await writer(backend);
    expect(results.some((r) => r.snapshotUploaded)).toBe(true);
    expect(results.every((r) => r.compaction === undefined)).toBe(true);
    expect(Math.min(...(await objects(backend, clientId)).records)).toBe(1);
  });

  it('a compaction that fails is reported in the result, never fails the sync, and the next sync retries it', async () => {
    const budget = { left: 0 };
    const backend = failingDeletes(backendForCase(), budget);
    const { clientId, replica } = await openWriter(backend, 1, { keepCommits: 0, keepDays: 0 });
    await replica.create('tasks', 'a');
    await replica.sync(); // the first snapshot: marked, nothing to delete yet below it
    await replica.create('tasks', 'b');
    const failed = await replica.sync();
    expect(failed).toMatchObject({ pushedVersions: 1, snapshotUploaded: true });
    expect(failed.compaction).toMatchObject({ error: { code: 'REMOTE_FAILED' } });
    budget.left = Infinity;
    const retried = await replica.sync();
    expect(retried).toMatchObject({ pushedVersions: 0, snapshotUploaded: false });
    expect(retried.compaction).toMatchObject({ report: { more: false } });
    expect(Math.min(...(await objects(backend, clientId)).records)).toBeGreaterThan(1);
  });

  it('refuses a malformed policy when the replica is opened', async () => {
    for (const compaction of [null, { keepCommits: -1 }, { maxDeletes: 0 }, { keepDays: '30' }]) {
      await rejectsWith(
        Replica.open({
          store: new MemoryReplicaStore(),
          storage: new RemoteStorage(backendForCase(), { prefix: PREFIX }),
          clientId: crypto.randomUUID(),
          compaction: compaction as CompactionOptions,
        }),
        'INVALID_ARGUMENT',
      );
    }
  });
});
