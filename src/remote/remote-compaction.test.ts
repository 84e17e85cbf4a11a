/**
 * Compaction of a RemoteStorage chain (issue 12, item 1; docs/compaction.md): what it deletes and
 * keeps, the retention window, bounded and resumable runs, two compactors at once, and a stale
 * transaction that claims a name compaction freed.
 */
import { describe, expect, it } from 'vitest';
import { DeterminateRemoteError } from '../contracts/errors.js';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { buildChain } from '../test-support/build-chain.js';
import { RemoteStorage, type CompactionOptions, type CompactionReport } from './remote-storage.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000;
const PREFIX = 'app/chain';

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
async function objects(backend: MemoryRemoteBackend, client: Uuid) {
  const dir = `${PREFIX}/${client}/`;
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
 * The state after compacting a chain of 220 versions with a snapshot of version 149 (held by
 * commit 151) behind 50 commits: commits 1 … 101 are gone with their indexes and the pack of
 * commits 1 … 64; commit 102 on (the pack of 65 … 128 straddles the floor and stays) are kept.
 */
async function expectCompactedTo102(backend: MemoryRemoteBackend, client: Uuid, ids: Uuid[]) {
  const left = await objects(backend, client);
  expect(Math.min(...left.records)).toBe(102);
  expect(left.records.length).toBe(221 + 1 - 101); // 221 commits and one snapshot commit
  expect(ids.filter((id) => left.ids.has(id))).toEqual(ids.slice(100));
  // p/<parent> belongs to the commit of the child: the last version compacted away keeps its own.
  expect([NIL_UUID, ...ids].filter((id) => left.parents.has(id))).toEqual(ids.slice(99, -1));
  expect(left.packs).toEqual([65, 129]);
  expect(left.snapshots.length).toBe(1);
}

describe('RemoteStorage.compact', () => {
  const snapshotAt149 = new Map([[149, T0]]);
  const window = { keepCommits: 50, keepDays: 30, now: T0 + 31 * DAY };

  it('deletes what lies more than keepCommits behind the snapshot and older than keepDays, and nothing else', async () => {
    const backend = new MemoryRemoteBackend();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, 220, snapshotAt149);
    expect((await objects(backend, client)).records.length).toBe(222);

    const report = await storage.compact(client, { ...window, maxDeletes: 10_000 });
    expect(report).toMatchObject({ floor: 102, swept: 102, more: false });
    expect(report.deleted).toBe(101 + 2 * 100 + 1); // records, their versions' i/p indexes, one pack
    await expectCompactedTo102(backend, client, ids);

    // What remains reads as before, from a fresh instance: the head, the snapshot, and a replica
    // whose base is the last version compacted away still catches up by versions.
    const fresh = await new RemoteStorage(backend, { prefix: PREFIX }).txn(client);
    expect((await fresh.getClient())?.latestVersionId).toBe(ids.at(-1));
    expect(await fresh.getSnapshotData(ids[149]!)).toEqual(utf8('snapshot of 149'));
    expect((await fresh.getVersionsAfter(ids[99]!, 5)).map((v) => v.versionId)).toEqual(ids.slice(100, 105));
    expect(await fresh.getVersion(ids[99]!)).toBeNull();
    expect(await fresh.getVersion(ids[100]!)).not.toBeNull();
    // A replica further behind finds nothing after its base: it recovers from the snapshot.
    expect(await fresh.getVersionsAfter(ids[40]!, 5)).toEqual([]);
    expect(await fresh.getVersionByParent(ids[40]!)).toBeNull();

    // Compacting again changes nothing.
    expect(await storage.compact(client, { ...window, maxDeletes: 10_000 })).toMatchObject({
      floor: 102,
      deleted: 0,
      more: false,
    });
  });

  it('keeps everything younger than keepDays, however far behind the snapshot', async () => {
    const backend = new MemoryRemoteBackend();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, 220, snapshotAt149);
    const early = await storage.compact(client, { ...window, now: T0 + 29 * DAY });
    expect(early).toEqual({ floor: 1, swept: 1, deleted: 0, more: false });
    expect((await objects(backend, client)).records.length).toBe(222);
    // The snapshot was marked on that run: its age counts from its own timestamp, not the run's.
    await compactAll(storage, client, window);
    await expectCompactedTo102(backend, client, ids);
  });

  it('deletes at most maxDeletes objects per call, whole commits at a time, until done', async () => {
    const backend = new MemoryRemoteBackend();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, 220, snapshotAt149);
    const reports = await compactAll(storage, client, { ...window, maxDeletes: 40 });
    expect(reports.length).toBeGreaterThan(7);
    for (const r of reports) expect(r.deleted).toBeLessThanOrEqual(40);
    expect(reports.map((r) => r.swept)).toEqual([...reports.map((r) => r.swept)].sort((a, b) => a - b));
    expect(reports.at(-1)).toMatchObject({ floor: 102, swept: 102, more: false });
    await expectCompactedTo102(backend, client, ids);
  });

  it('a run cut off half way is finished by the next one, from another instance', async () => {
    let deletesLeft = Infinity;
    const backend = new (class extends MemoryRemoteBackend {
      override async delete(key: string): Promise<void> {
        if (deletesLeft-- <= 0) throw new DeterminateRemoteError('injected: delete refused');
        return super.delete(key);
      }
    })();
    const storage = new RemoteStorage(backend, { prefix: PREFIX, retry: { attempts: 1 } });
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(storage, client, 220, snapshotAt149);
    // Cut off before its first delete: the floor is raised all the same, and readers already
    // skip what lies below it, though every object is still there.
    deletesLeft = 0;
    const run = () => storage.compact(client, { ...window, maxDeletes: 10_000 });
    await expect(run()).rejects.toBeInstanceOf(DeterminateRemoteError);
    expect((await objects(backend, client)).records.length).toBe(222);
    const fresh = await new RemoteStorage(backend, { prefix: PREFIX }).txn(client);
    expect(await fresh.getVersion(ids[10]!)).toBeNull();
    expect(await fresh.getVersionsAfter(ids[10]!, 5)).toEqual([]);
    expect(await fresh.getVersion(ids[100]!)).not.toBeNull();
    // Cut off again in the middle of the index deletes.
    deletesLeft = 150;
    await expect(run()).rejects.toBeInstanceOf(DeterminateRemoteError);
    deletesLeft = Infinity;
    await compactAll(new RemoteStorage(backend, { prefix: PREFIX }), client, { ...window, maxDeletes: 60 });
    await expectCompactedTo102(backend, client, ids);
  });

  it('two compactors at once do no harm', async () => {
    const backend = new MemoryRemoteBackend();
    const client = crypto.randomUUID();
    const ids = await chainWithSnapshots(
      new RemoteStorage(backend, { prefix: PREFIX }),
      client,
      220,
      snapshotAt149,
    );
    const a = new RemoteStorage(backend, { prefix: PREFIX });
    const b = new RemoteStorage(backend, { prefix: PREFIX });
    await Promise.all([
      compactAll(a, client, { ...window, maxDeletes: 30 }),
      compactAll(b, client, { ...window, maxDeletes: 30 }),
    ]);
    await expectCompactedTo102(backend, client, ids);
    expect(await a.compact(client, window)).toMatchObject({ floor: 102, swept: 102, deleted: 0 });
  });

  it('deletes a snapshot only commits below the floor name, and keeps the current one', async () => {
    const backend = new MemoryRemoteBackend();
    const storage = new RemoteStorage(backend, { prefix: PREFIX });
    const client = crypto.randomUUID();
    // Snapshot S1 of version 19 (set in commit 22), S2 of version 99 (held by commit 102, set in 103).
    const ids = await chainWithSnapshots(
      storage,
      client,
      110,
      new Map([
        [19, T0 - DAY],
        [99, T0],
      ]),
    );
    expect((await objects(backend, client)).snapshots.length).toBe(2);
    const report = await storage.compact(client, {
      keepCommits: 0,
      keepDays: 0,
      now: T0,
      maxDeletes: 10_000,
    });
    expect(report).toMatchObject({ floor: 103, swept: 103, more: false });
    expect((await objects(backend, client)).snapshots.length).toBe(1);
    const fresh = await storage.txn(client);
    expect(await fresh.getSnapshotData(ids[99]!)).toEqual(utf8('snapshot of 99'));
  });

  it('a transaction that read the chain before it was compacted cannot commit into a freed name', async () => {
    const backend = new MemoryRemoteBackend();
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
    for (let i = 0; i < 60; i++) {
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
      keepCommits: 10,
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
    const storage = new RemoteStorage(new MemoryRemoteBackend(), { prefix: PREFIX });
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
