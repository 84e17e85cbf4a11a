import { describe, expect, it } from 'vitest';
import { NIL_UUID, type Storage, type Uuid, type Version, type Snapshot } from '../../contracts/storage.js';
import {
  BAD_BYTES,
  b,
  concurrently,
  rejectsWith,
  s,
  type Factory,
  holdEachWrite,
  type HeldWritesHarness,
} from './support.js';
import { fakeBytes, oddBytes, rejectsFake } from './odd-bytes.js';
import type { InvalidArgumentError } from '../../contracts/errors.js';
import { withStorageTxn } from '../../core/storage-txn-retry.js';

/** Options of {@link storageConformance}. */
export interface StorageConformanceOptions {
  /** Concurrent writers in the chain race (default 4). */
  writers?: number;
  /** Versions each writer adds (default 100). */
  rounds?: number;
  /**
   * Remote implementations: a store whose backend's writes pass through `holds`, for the cases of
   * a write that times out and lands later (its retry then refused).
   */
  heldWrites?: Factory<HeldWritesHarness<Storage>>;
}

const uuid = (): Uuid => crypto.randomUUID();
const seg = (v: Version | null) => (v ? [v.versionId, v.parentVersionId, s(v.historySegment)] : null);

/**
 * The Storage conformance suite: TaskChampion's storage cases, transaction semantics (isolation,
 * drop without commit, commit twice, conflicts), bad input, and concurrent writers building one chain.
 */
export function storageConformance(
  name: string,
  factory: Factory<Storage>,
  options: StorageConformanceOptions = {},
): void {
  const { writers = 4, rounds = 100, heldWrites } = options;

  describe(`Storage conformance: ${name}`, () => {
    it('get_client of an unknown client is null', async () => {
      const storage = await factory();
      const txn = await storage.txn(uuid());
      expect(await txn.getClient()).toBeNull();
    });

    it('client storage: new_client, add_version moves latest, set_snapshot records the snapshot', async () => {
      const storage = await factory();
      const client = uuid();
      const latest = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(latest);
      expect(await txn.getClient()).toEqual({ latestVersionId: latest, snapshot: null });
      await txn.commit();

      txn = await storage.txn(client);
      expect(await txn.getClient()).toEqual({ latestVersionId: latest, snapshot: null });
      const next = uuid();
      await txn.addVersion(next, latest, b('seg'));
      expect((await txn.getClient())?.latestVersionId).toBe(next);
      const snap = { versionId: next, timestamp: Date.UTC(2026, 0, 2, 3, 4, 5), versionsSince: 4 };
      await txn.setSnapshot(snap, b('snapshot data'));
      expect(await txn.getClient()).toEqual({ latestVersionId: next, snapshot: snap });
      await txn.commit();

      txn = await storage.txn(client);
      expect(await txn.getClient()).toEqual({ latestVersionId: next, snapshot: snap });
    });

    it('new_client refuses an existing client', async () => {
      const storage = await factory();
      const client = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      await rejectsWith(txn.newClient(NIL_UUID), 'ALREADY_EXISTS');
      await txn.commit();
      txn = await storage.txn(client);
      await rejectsWith(txn.newClient(uuid()), 'ALREADY_EXISTS');
      expect((await txn.getClient())?.latestVersionId).toBe(NIL_UUID);
    });

    it('get_version_by_parent and get_version of unknown versions are null', async () => {
      const storage = await factory();
      const txn = await storage.txn(uuid());
      expect(await txn.getVersionByParent(uuid())).toBeNull();
      expect(await txn.getVersion(uuid())).toBeNull();
      expect(await txn.getVersionsAfter(uuid(), 10)).toEqual([]);
    });

    it('add_version then get_version_by_parent and get_version find it', async () => {
      const storage = await factory();
      const client = uuid();
      const parent = uuid();
      const id = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(parent);
      await txn.addVersion(id, parent, b('abc'));
      expect(seg(await txn.getVersionByParent(parent))).toEqual([id, parent, 'abc']);
      await txn.commit();
      txn = await storage.txn(client);
      expect(seg(await txn.getVersionByParent(parent))).toEqual([id, parent, 'abc']);
      expect(seg(await txn.getVersion(id))).toEqual([id, parent, 'abc']);
      expect(await txn.getVersionByParent(id)).toBeNull();
    });

    it('a client whose latest is nil accepts any parent; otherwise the parent must be the latest', async () => {
      const storage = await factory();
      const client = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      const first = uuid();
      const arbitraryParent = uuid();
      await txn.addVersion(first, arbitraryParent, b('1'));
      await txn.commit();
      txn = await storage.txn(client);
      await rejectsWith(txn.addVersion(uuid(), arbitraryParent, b('x')), 'VERSION_CONFLICT');
      await rejectsWith(txn.addVersion(uuid(), NIL_UUID, b('x')), 'VERSION_CONFLICT');
      const second = uuid();
      await txn.addVersion(second, first, b('2'));
      await txn.commit();
      txn = await storage.txn(client);
      expect((await txn.getClient())?.latestVersionId).toBe(second);
      expect(seg(await txn.getVersionByParent(arbitraryParent))).toEqual([first, arbitraryParent, '1']);
    });

    it('add_version refuses a version id that exists', async () => {
      const storage = await factory();
      const client = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      const id = uuid();
      const latest = uuid();
      await txn.addVersion(id, NIL_UUID, b('1'));
      await txn.addVersion(latest, id, b('2'));
      await txn.commit();
      txn = await storage.txn(client);
      // From the latest, so only the reused id is wrong (a version that is its own parent is bad input).
      await rejectsWith(txn.addVersion(id, latest, b('again')), 'ALREADY_EXISTS');
      expect(seg(await txn.getVersion(id))).toEqual([id, NIL_UUID, '1']);
    });

    it('add_version without a client is NOT_FOUND', async () => {
      const storage = await factory();
      const txn = await storage.txn(uuid());
      await rejectsWith(txn.addVersion(uuid(), NIL_UUID, b('x')), 'NOT_FOUND');
      await rejectsWith(
        txn.setSnapshot({ versionId: uuid(), timestamp: 1, versionsSince: 0 }, b('x')),
        'NOT_FOUND',
      );
      await rejectsWith(txn.getSnapshotData(uuid()), 'NOT_FOUND');
    });

    it('snapshots: get_snapshot_data checks the version; add_version increments versions_since', async () => {
      const storage = await factory();
      const client = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      await rejectsWith(txn.getSnapshotData(NIL_UUID), 'SNAPSHOT_MISMATCH');
      const v1 = uuid();
      await txn.addVersion(v1, NIL_UUID, b('1'));
      const snap = { versionId: v1, timestamp: 1_700_000_000_000, versionsSince: 0 };
      await txn.setSnapshot(snap, b('snap-1'));
      expect(s(await txn.getSnapshotData(v1))).toBe('snap-1');
      await txn.commit();

      txn = await storage.txn(client);
      expect(s(await txn.getSnapshotData(v1))).toBe('snap-1');
      await rejectsWith(txn.getSnapshotData(uuid()), 'SNAPSHOT_MISMATCH');
      const v2 = uuid();
      const v3 = uuid();
      await txn.addVersion(v2, v1, b('2'));
      await txn.addVersion(v3, v2, b('3'));
      await txn.commit();

      txn = await storage.txn(client);
      expect((await txn.getClient())?.snapshot).toEqual({ ...snap, versionsSince: 2 });
      const snap2 = { versionId: v3, timestamp: 1_700_000_100_000, versionsSince: 0 };
      await txn.setSnapshot(snap2, b('snap-3'));
      await txn.commit();
      txn = await storage.txn(client);
      expect(s(await txn.getSnapshotData(v3))).toBe('snap-3');
      await rejectsWith(txn.getSnapshotData(v1), 'SNAPSHOT_MISMATCH');
    });

    it('get_versions_after walks the chain in order and honours the limit', async () => {
      const storage = await factory();
      const client = uuid();
      const ids = Array.from({ length: 12 }, uuid);
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      let parent = NIL_UUID;
      for (const [i, id] of ids.entries()) {
        await txn.addVersion(id, parent, b(`v${i}`));
        parent = id;
        if (i === 5) {
          await txn.commit();
          txn = await storage.txn(client);
        }
      }
      // Part committed, part buffered in this transaction: the walk spans both.
      expect((await txn.getVersionsAfter(NIL_UUID, 100)).map((v) => v.versionId)).toEqual(ids);
      await txn.commit();
      txn = await storage.txn(client);
      expect((await txn.getVersionsAfter(NIL_UUID, 100)).map((v) => v.versionId)).toEqual(ids);
      expect((await txn.getVersionsAfter(ids[2]!, 4)).map((v) => s(v.historySegment))).toEqual([
        'v3',
        'v4',
        'v5',
        'v6',
      ]);
      expect(await txn.getVersionsAfter(ids[11]!, 4)).toEqual([]);
      expect(await txn.getVersionsAfter(NIL_UUID, 0)).toEqual([]);
    });

    it('uncommitted writes are invisible to other transactions; committed ones are visible', async () => {
      const storage = await factory();
      const client = uuid();
      const writer = await storage.txn(client);
      await writer.newClient(NIL_UUID);
      const id = uuid();
      await writer.addVersion(id, NIL_UUID, b('x'));
      const reader = await storage.txn(client);
      expect(await reader.getClient()).toBeNull();
      expect(await reader.getVersion(id)).toBeNull();
      await writer.commit();
      const later = await storage.txn(client);
      expect((await later.getClient())?.latestVersionId).toBe(id);
      expect(seg(await later.getVersion(id))).toEqual([id, NIL_UUID, 'x']);
    });

    it('a transaction dropped without commit leaves no trace', async () => {
      const storage = await factory();
      const client = uuid();
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      await txn.commit();
      txn = await storage.txn(client);
      const id = uuid();
      await txn.addVersion(id, NIL_UUID, b('dropped'));
      await txn.setSnapshot({ versionId: id, timestamp: 5, versionsSince: 0 }, b('dropped'));
      // dropped here
      txn = await storage.txn(client);
      expect(await txn.getClient()).toEqual({ latestVersionId: NIL_UUID, snapshot: null });
      expect(await txn.getVersion(id)).toBeNull();
      expect(await txn.getVersionByParent(NIL_UUID)).toBeNull();
    });

    it('commit twice, and any use after commit, is TRANSACTION_FINISHED', async () => {
      const storage = await factory();
      const txn = await storage.txn(uuid());
      await txn.newClient(NIL_UUID);
      await txn.commit();
      await rejectsWith(txn.commit(), 'TRANSACTION_FINISHED');
      await rejectsWith(txn.getClient(), 'TRANSACTION_FINISHED');
      await rejectsWith(txn.addVersion(uuid(), NIL_UUID, b('x')), 'TRANSACTION_FINISHED');
      const readOnly = await storage.txn(uuid());
      await readOnly.getClient();
      await readOnly.commit();
      await rejectsWith(readOnly.commit(), 'TRANSACTION_FINISHED');
    });

    it('of two transactions that read the same latest, only the first commit wins', async () => {
      const storage = await factory();
      const client = uuid();
      const init = await storage.txn(client);
      await init.newClient(NIL_UUID);
      await init.commit();
      const a = await storage.txn(client);
      const b2 = await storage.txn(client);
      const latestA = (await a.getClient())!.latestVersionId;
      const latestB = (await b2.getClient())!.latestVersionId;
      const idA = uuid();
      const idB = uuid();
      await a.addVersion(idA, latestA, b('a'));
      await b2.addVersion(idB, latestB, b('b'));
      await a.commit();
      await rejectsWith(b2.commit(), 'TRANSACTION_CONFLICT');
      const check = await storage.txn(client);
      expect((await check.getClient())?.latestVersionId).toBe(idA);
      expect(await check.getVersion(idB)).toBeNull();
    });

    it('transactions of different clients never conflict', async () => {
      const storage = await factory();
      const [c1, c2] = [uuid(), uuid()];
      const t1 = await storage.txn(c1);
      const t2 = await storage.txn(c2);
      await t1.newClient(NIL_UUID);
      await t2.newClient(NIL_UUID);
      await t1.addVersion(uuid(), NIL_UUID, b('1'));
      await t2.addVersion(uuid(), NIL_UUID, b('2'));
      await t2.commit();
      await t1.commit();
      expect((await (await storage.txn(c1)).getVersionByParent(NIL_UUID))?.historySegment).toEqual(b('1'));
      expect((await (await storage.txn(c2)).getVersionByParent(NIL_UUID))?.historySegment).toEqual(b('2'));
    });

    describe('a lost race is TRANSACTION_CONFLICT, whenever the loser yields', () => {
      /** A client with `versions` versions on it; returns its id and latest version. */
      const seeded = async (storage: Storage, versions: number): Promise<[Uuid, Uuid]> => {
        const client = uuid();
        const txn = await storage.txn(client);
        await txn.newClient(NIL_UUID);
        let latest = NIL_UUID;
        for (let i = 0; i < versions; i++) {
          const id = uuid();
          await txn.addVersion(id, latest, b(`v${i}`));
          latest = id;
        }
        await txn.commit();
        return [client, latest];
      };
      /** Another transaction adds a version on `parent` and commits: the race the reader loses. */
      const winner = async (storage: Storage, client: Uuid, parent: Uuid): Promise<Uuid> => {
        const txn = await storage.txn(client);
        const id = uuid();
        await txn.addVersion(id, parent, b('winner'));
        await txn.commit();
        return id;
      };

      for (const versions of [0, 2]) {
        it(`the loser reads, another commits, the loser adds: addVersion succeeds, commit is TRANSACTION_CONFLICT (${versions} versions before)`, async () => {
          const storage = await factory();
          const [client, latest] = await seeded(storage, versions);
          const loser = await storage.txn(client);
          expect((await loser.getClient())?.latestVersionId).toBe(latest);
          const won = await winner(storage, client, latest);
          // As of the loser's read, `latest` is the head and has no child: adding on it is valid.
          const lost = uuid();
          await loser.addVersion(lost, latest, b('loser'));
          await rejectsWith(loser.commit(), 'TRANSACTION_CONFLICT');
          const check = await storage.txn(client);
          expect((await check.getClient())?.latestVersionId).toBe(won);
          expect(await check.getVersion(lost)).toBeNull();
          expect(seg(await check.getVersionByParent(latest))?.[0]).toBe(won);
        });
      }

      it("a transaction's reads show the state of its first read, not versions committed since", async () => {
        const storage = await factory();
        const [client, latest] = await seeded(storage, 2);
        const reader = await storage.txn(client);
        expect((await reader.getClient())?.latestVersionId).toBe(latest);
        const before = await reader.getVersionsAfter(NIL_UUID, 10);
        const won = await winner(storage, client, latest);
        expect(await reader.getVersion(won)).toBeNull();
        expect(await reader.getVersionByParent(latest)).toBeNull();
        expect(await reader.getVersionsAfter(NIL_UUID, 10)).toEqual(before);
        expect(await reader.getVersionsAfter(latest, 10)).toEqual([]);
        expect((await reader.getClient())?.latestVersionId).toBe(latest);
      });

      it("a transaction never reads the data of a snapshot set since its first read as its own snapshot's", async () => {
        const storage = await factory();
        const [client, latest] = await seeded(storage, 2);
        let txn = await storage.txn(client);
        await txn.setSnapshot({ versionId: latest, timestamp: 1, versionsSince: 0 }, b('old snapshot'));
        await txn.commit();
        const reader = await storage.txn(client);
        expect((await reader.getClient())?.snapshot?.versionId).toBe(latest);
        const won = await winner(storage, client, latest);
        txn = await storage.txn(client);
        await txn.setSnapshot({ versionId: won, timestamp: 2, versionsSince: 0 }, b('new snapshot'));
        await txn.commit();
        // Its own snapshot's data, or null where the storage keeps only the current one; never the
        // newer snapshot's bytes, which are of another version.
        const data = await reader.getSnapshotData(latest);
        expect([null, 'old snapshot']).toContain(data === null ? null : s(data));
      });

      it('withStorageTxn runs a transaction that lost its race again, fresh, and returns what the committed run returned', async () => {
        const storage = await factory();
        const [client, latest] = await seeded(storage, 1);
        const heads: Uuid[] = [];
        let won: Uuid | null = null;
        const added = await withStorageTxn(storage, client, async (txn) => {
          const head = (await txn.getClient())!.latestVersionId;
          heads.push(head);
          won ??= await winner(storage, client, head); // the first run loses to this one
          const id = uuid();
          await txn.addVersion(id, head, b('retried'));
          return id;
        });
        expect(heads).toEqual([latest, won]);
        const check = await storage.txn(client);
        expect((await check.getClient())?.latestVersionId).toBe(added);
        expect(seg(await check.getVersion(added))).toEqual([added, won, 'retried']);
      });

      it(`${writers} concurrent writers that yield between reading the latest and adding: only TRANSACTION_CONFLICT is lost`, async () => {
        const storage = await factory();
        const [client] = await seeded(storage, 0);
        const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
        const rounds = 10;
        await concurrently(writers, async (w) => {
          for (let n = 0; n < rounds;) {
            const txn = await storage.txn(client);
            const latest = (await txn.getClient())!.latestVersionId;
            await yieldToOthers();
            try {
              await txn.addVersion(uuid(), latest, b(`w${w}-${n}`));
              await txn.commit();
              n++;
            } catch (error) {
              // Any other code (ALREADY_EXISTS, VERSION_CONFLICT) fails the case with its message.
              if ((error as { code?: string }).code !== 'TRANSACTION_CONFLICT') throw error;
            }
          }
        });
        const txn = await storage.txn(client);
        expect((await txn.getVersionsAfter(NIL_UUID, writers * rounds + 1)).length).toBe(writers * rounds);
      });
    });

    it('rejects bad ids, segments and snapshots with INVALID_ARGUMENT, changing nothing', async () => {
      const storage = await factory();
      for (const bad of ['', 'not-a-uuid', 42, null, '6BA7B810-9DAD-11D1-80B4-00C04FD430C8']) {
        await rejectsWith(storage.txn(bad as never), 'INVALID_ARGUMENT');
      }
      const client = uuid();
      const txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      for (const bad of ['', 'x', 7, undefined]) {
        await rejectsWith(txn.addVersion(bad as never, NIL_UUID, b('x')), 'INVALID_ARGUMENT');
        await rejectsWith(txn.addVersion(uuid(), bad as never, b('x')), 'INVALID_ARGUMENT');
        await rejectsWith(txn.getVersion(bad as never), 'INVALID_ARGUMENT');
        await rejectsWith(txn.getVersionByParent(bad as never), 'INVALID_ARGUMENT');
        await rejectsWith(txn.newClient(bad as never), 'INVALID_ARGUMENT');
      }
      for (const [, data] of BAD_BYTES) {
        await rejectsWith(txn.addVersion(uuid(), NIL_UUID, data as never), 'INVALID_ARGUMENT');
        await rejectsWith(
          txn.setSnapshot({ versionId: uuid(), timestamp: 1, versionsSince: 0 }, data as never),
          'INVALID_ARGUMENT',
        );
      }
      for (const snap of [
        null,
        {},
        { versionId: uuid(), timestamp: -1, versionsSince: 0 },
        { versionId: uuid(), timestamp: 1, versionsSince: -1 },
      ]) {
        await rejectsWith(txn.setSnapshot(snap as never, b('x')), 'INVALID_ARGUMENT');
      }
      await rejectsWith(txn.getVersionsAfter(NIL_UUID, -1), 'INVALID_ARGUMENT');
      expect(await txn.getClient()).toEqual({ latestVersionId: NIL_UUID, snapshot: null });
      await txn.commit();
      expect(await (await storage.txn(client)).getClient()).toEqual({
        latestVersionId: NIL_UUID,
        snapshot: null,
      });
    });

    describe('input that would break the chain', () => {
      it('rejects fake and detached segments and snapshot data with INVALID_ARGUMENT, changing nothing', async () => {
        const storage = await factory();
        const client = uuid();
        const txn = await storage.txn(client);
        await txn.newClient(NIL_UUID);
        for (const fake of fakeBytes()) {
          await rejectsFake(txn.addVersion(uuid(), NIL_UUID, fake.value as never), 'historySegment', fake);
          await rejectsFake(
            txn.setSnapshot({ versionId: uuid(), timestamp: 1, versionsSince: 0 }, fake.value as never),
            'data',
            fake,
          );
        }
        await txn.commit();
        const check = await storage.txn(client);
        expect(await check.getClient()).toEqual({ latestVersionId: NIL_UUID, snapshot: null });
        expect(await check.getVersionsAfter(NIL_UUID, 10)).toEqual([]);
      });

      it('stores a copy of just the viewed bytes of a subclass or a view into a larger buffer', async () => {
        const storage = await factory();
        const client = uuid();
        const odd = oddBytes();
        const [first, second] = odd.cases;
        const [v1, v2] = [uuid(), uuid()];
        let txn = await storage.txn(client);
        await txn.newClient(NIL_UUID);
        await txn.addVersion(v1, NIL_UUID, first!.value);
        await txn.setSnapshot({ versionId: v1, timestamp: 1, versionsSince: 0 }, second!.value);
        await txn.addVersion(v2, v1, second!.value);
        odd.scribble();
        await txn.commit();
        txn = await storage.txn(client);
        expect([...(await txn.getVersion(v1))!.historySegment], first!.why).toEqual(first!.bytes);
        expect([...(await txn.getVersion(v2))!.historySegment], second!.why).toEqual(second!.bytes);
        expect([...(await txn.getSnapshotData(v1))!], second!.why).toEqual(second!.bytes);
      });

      it('add_version refuses a version that is its own parent, and the nil UUID as a version id', async () => {
        const storage = await factory();
        // A client whose latest is nil accepts any parent; one whose latest was never added as a
        // version has no child of it: neither may gain a version that loops back on itself.
        for (const latest of [NIL_UUID, uuid()]) {
          const client = uuid();
          let txn = await storage.txn(client);
          await txn.newClient(latest);
          await txn.commit();
          txn = await storage.txn(client);
          const loop = latest === NIL_UUID ? uuid() : latest;
          const self = await rejectsWith<InvalidArgumentError>(
            txn.addVersion(loop, loop, b('loop')),
            'INVALID_ARGUMENT',
          );
          expect(self.message).toMatch(/own parent/);
          const nil = await rejectsWith<InvalidArgumentError>(
            txn.addVersion(NIL_UUID, latest, b('nil')),
            'INVALID_ARGUMENT',
          );
          expect(nil.argument).toBe('versionId');
          expect(nil.message).toMatch(/nil UUID/);
          await txn.commit();
          txn = await storage.txn(client);
          expect(await txn.getClient()).toEqual({ latestVersionId: latest, snapshot: null });
          expect(await txn.getVersion(loop)).toBeNull();
          expect(await txn.getVersionsAfter(loop, 5)).toEqual([]);
        }
      });
    });

    it(`${writers} concurrent writers x ${rounds} read-latest-then-add form one unbroken chain`, async () => {
      const storage = await factory();
      const client = uuid();
      const init = await storage.txn(client);
      await init.newClient(NIL_UUID);
      await init.commit();
      const added = new Set<Uuid>();
      await concurrently(writers, async (w) => {
        for (let n = 0; n < rounds;) {
          const txn = await storage.txn(client);
          const latest = (await txn.getClient())!.latestVersionId;
          const id = uuid();
          try {
            await txn.addVersion(id, latest, b(`w${w}-${n}`));
            await txn.commit();
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code === 'VERSION_CONFLICT' || code === 'TRANSACTION_CONFLICT') continue;
            throw error;
          }
          added.add(id);
          n++;
        }
      });
      const txn = await storage.txn(client);
      const chain: Uuid[] = [];
      let cursor = (await txn.getClient())!.latestVersionId;
      while (cursor !== NIL_UUID) {
        const v = await txn.getVersion(cursor);
        expect(v, `the chain is broken at ${cursor}`).not.toBeNull();
        chain.push(cursor);
        cursor = v!.parentVersionId;
      }
      expect(chain.length).toBe(writers * rounds);
      expect(new Set(chain)).toEqual(added);
      const forward = await txn.getVersionsAfter(NIL_UUID, writers * rounds + 10);
      expect(forward.map((v) => v.versionId)).toEqual(chain.reverse());
      // A hang guard, not a speed limit: hundreds of contended remote commits take 2-3 s on a quiet
      // machine and were seen taking 20-53 s on a loaded one, against the default 30 s.
    }, 180_000);

    if (heldWrites) {
      // A write times out, the read-back finds nothing yet, then it lands and its retry is refused.
      // Each write of a commit that sets a snapshot gets its turn: the commit must be reported as
      // committed (there is no other writer) and its snapshot must stay readable.
      for (const lands of ['after-read-back', 'manual'] as const) {
        const when = lands === 'manual' ? 'after the commit returned' : 'after the read-back';
        it(`a commit whose write times out and lands ${when} commits once and keeps its snapshot`, async () => {
          const { store: storage, holds } = await heldWrites();
          const clients = new Map<number, { client: Uuid; id: Uuid; snap: Snapshot }>();
          const runs = await holdEachWrite(
            holds,
            lands,
            async (round) => {
              const client = uuid();
              const init = await storage.txn(client);
              await init.newClient(NIL_UUID);
              await init.commit();
              const id = uuid();
              const snap = { versionId: id, timestamp: 1_700_000_000_000 + round, versionsSince: 0 };
              clients.set(round, { client, id, snap });
              const txn = await storage.txn(client);
              await txn.addVersion(id, NIL_UUID, b(`version ${round}`));
              await txn.setSnapshot(snap, b(`snapshot ${round}`));
              await txn.commit();
            },
            async (round) => {
              const { client, id, snap } = clients.get(round)!;
              const txn = await storage.txn(client);
              expect(await txn.getClient()).toEqual({ latestVersionId: id, snapshot: snap });
              expect(s(await txn.getSnapshotData(id))).toBe(`snapshot ${round}`);
              expect(seg(await txn.getVersion(id))).toEqual([id, NIL_UUID, `version ${round}`]);
              expect((await txn.getVersionsAfter(NIL_UUID, 10)).map((v) => v.versionId)).toEqual([id]);
            },
          );
          expect(runs).toBeGreaterThanOrEqual(2);
        });
      }
    }
  });

  // countVersionsAfter (optional, for progress totals): null when the storage cannot tell, else
  // never fewer than the versions that follow; counting leaves the reads that follow unchanged.
  describe(`Storage conformance: ${name}: countVersionsAfter`, () => {
    it('counts no fewer than the versions after a parent (0 at the latest), or answers null', async () => {
      const storage = await factory();
      const client = uuid();
      const ids = Array.from({ length: 6 }, uuid);
      let parent = NIL_UUID;
      for (const [i, id] of ids.entries()) {
        const txn = await storage.txn(client);
        if (i === 0) await txn.newClient(NIL_UUID);
        await txn.addVersion(id, parent, b(`v${i}`));
        if (i === 2) await txn.setSnapshot({ versionId: id, timestamp: 1, versionsSince: 0 }, b('snap'));
        await txn.commit();
        parent = id;
      }
      const txn = await storage.txn(client);
      const count = (p: Uuid) => txn.countVersionsAfter?.(p) ?? Promise.resolve(null);
      const counts = [await count(NIL_UUID), await count(ids[1]!), await count(ids[5]!)];
      const atLeast = [6, 4, 0];
      counts.forEach((n, i) => {
        if (n !== null) expect(n).toBeGreaterThanOrEqual(atLeast[i]!);
      });
      expect(counts[2] === null || counts[2] === 0).toBe(true);
      // The reads after a count see the same chain.
      expect((await txn.getVersionsAfter(ids[1]!, 10)).map((v) => v.versionId)).toEqual(ids.slice(2));
      expect((await txn.getVersionsAfter(ids[3]!, 1)).map((v) => v.versionId)).toEqual([ids[4]]);
      if (txn.countVersionsAfter) await rejectsWith(txn.countVersionsAfter('not-a-uuid'), 'INVALID_ARGUMENT');
    });
  });
}
