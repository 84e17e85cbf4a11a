import type { ObjectRef, Operation, StoredObject } from '../../contracts/replica.js';
import type { Factory } from './support.js';
import { describe, expect, it } from 'vitest';
import {
  INITIAL_REPLICA_STATE,
  type PendingOperation,
  type ReplicaState,
  type ReplicaStore,
} from '../../contracts/replica-store.js';

/** A store under test, and (for persistent stores) how to open it again. */
export interface ReplicaStoreHarness {
  readonly store: ReplicaStore;
  /**
   * Closes `store` and opens the same persistence again (a page reload). Omit for stores that keep
   * nothing across instances; the reload cases are then skipped.
   */
  readonly reopen?: () => Promise<ReplicaStore>;
}

const obj = (collection: string, id: string, properties: StoredObject['properties'] = {}): StoredObject => ({
  collection,
  id,
  properties,
});

const op = (seq: number, id = `o${seq}`): PendingOperation => ({
  seq,
  op: { type: 'update', collection: 'c', id, property: 'p', value: seq, timestamp: 1000 + seq },
});

const state = (over: Partial<ReplicaState> = {}): ReplicaState => ({
  baseVersionId: '6f7a2f65-2c8a-4b43-9a87-0c8d3cf1f0b1',
  baseHeight: 3,
  nextSeq: 7,
  inFlight: null,
  ...over,
});

/** Something neither structured clone nor IndexedDB can store. */
const UNSTORABLE = (() => undefined) as unknown as string;

/** Everything a store holds, for before/after comparisons. */
async function dump(store: ReplicaStore) {
  return {
    state: await store.readState(),
    objects: await store.listObjects(),
    shadows: await store.getShadows(),
    pending: await store.getPending(),
    count: await store.countPending(),
  };
}

/**
 * The {@link ReplicaStore} contract: atomic commits, ordering, copy semantics and (for persistent
 * stores) survival of a reload. Runs as `ReplicaStore conformance: <name>`.
 */
export function replicaStoreConformance(name: string, factory: Factory<ReplicaStoreHarness>): void {
  describe(`ReplicaStore conformance: ${name}`, () => {
    it('starts empty, in the initial state', async () => {
      const { store } = await factory();
      expect(await store.readState()).toEqual(INITIAL_REPLICA_STATE);
      expect(await store.listObjects()).toEqual([]);
      expect(await store.getShadows()).toEqual([]);
      expect(await store.getPending()).toEqual([]);
      expect(await store.countPending()).toBe(0);
      expect(await store.getObjects([{ collection: 'c', id: 'x' }])).toEqual([null]);
    });

    it('reads objects by ref in the order asked, null where absent', async () => {
      const { store } = await factory();
      await store.commit({
        putObjects: [obj('c', 'a', { n: 1 }), obj('c', 'b', { n: 2 }), obj('d', 'a', { n: 3 })],
      });
      const refs: ObjectRef[] = [
        { collection: 'd', id: 'a' },
        { collection: 'c', id: 'zz' },
        { collection: 'c', id: 'a' },
      ];
      expect(await store.getObjects(refs)).toEqual([{ n: 3 }, null, { n: 1 }]);
      expect(await store.getObjects([])).toEqual([]);
    });

    it('lists by collection, then id (code-unit order), and only the collection asked', async () => {
      const { store } = await factory();
      const ids = ['b', 'B', 'a b', '10', '9', 'é', 'a'];
      await store.commit({
        putObjects: [...ids.map((id) => obj('c', id)), obj('ca', 'x'), obj('b', 'y'), obj('c\u0000', 'z')],
      });
      const sorted = [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      expect((await store.listObjects('c')).map((o) => o.id)).toEqual(sorted);
      expect((await store.listObjects()).map((o) => `${o.collection}/${o.id}`)).toEqual([
        'b/y',
        ...sorted.map((id) => `c/${id}`),
        'c\u0000/z',
        'ca/x',
      ]);
      expect(await store.listObjects('nothing')).toEqual([]);
    });

    it('applies deletes before puts, and clearObjects before both', async () => {
      const { store } = await factory();
      await store.commit({ putObjects: [obj('c', 'a'), obj('c', 'b'), obj('c', 'c')] });
      await store.commit({
        deleteObjects: [
          { collection: 'c', id: 'a' },
          { collection: 'c', id: 'b' },
        ],
        putObjects: [obj('c', 'b', { again: true })],
      });
      expect(await store.listObjects('c')).toEqual([obj('c', 'b', { again: true }), obj('c', 'c')]);
      await store.commit({ clearObjects: true, putObjects: [obj('e', 'only')] });
      expect(await store.listObjects()).toEqual([obj('e', 'only')]);
    });

    it('adds shadows, replaces them all, and reads them by ref', async () => {
      const { store } = await factory();
      await store.commit({
        putShadows: [
          { collection: 'c', id: 'a', properties: { v: 1 } },
          { collection: 'c', id: 'b', properties: null },
        ],
      });
      expect(
        await store.getShadowsOf([
          { collection: 'c', id: 'b' },
          { collection: 'c', id: 'x' },
          { collection: 'c', id: 'a' },
        ]),
      ).toEqual([
        { collection: 'c', id: 'b', properties: null },
        undefined,
        { collection: 'c', id: 'a', properties: { v: 1 } },
      ]);
      await store.commit({ clearShadows: true, putShadows: [{ collection: 'd', id: 'z', properties: {} }] });
      expect(await store.getShadows()).toEqual([{ collection: 'd', id: 'z', properties: {} }]);
      await store.commit({ deleteShadows: [{ collection: 'd', id: 'z' }] });
      expect(await store.getShadows()).toEqual([]);
    });

    it('keeps collection and id apart (no ambiguous keys)', async () => {
      const { store } = await factory();
      await store.commit({
        putObjects: [
          obj('a/b', 'c', { which: 1 }),
          obj('a', 'b/c', { which: 2 }),
          obj('a\u0000b', 'c', { which: 3 }),
        ],
      });
      expect((await store.listObjects()).length).toBe(3);
      expect(await store.getObjects([{ collection: 'a', id: 'b/c' }])).toEqual([{ which: 2 }]);
    });

    it('an update that removes a property (value undefined) reads back without a value', async () => {
      const { store } = await factory();
      const removal: Operation = {
        type: 'update',
        collection: 'c',
        id: 'x',
        property: 'p',
        value: undefined,
        timestamp: 3,
      };
      await store.commit({ appendPending: [{ seq: 1, op: removal }] });
      const [read] = await store.getPending();
      expect(read?.op.type === 'update' && read.op.value).toBeUndefined();
      expect(read?.op).toMatchObject({ type: 'update', property: 'p', timestamp: 3 });
    });

    it('keeps the pending queue in numeric seq order, with limit, count and removal', async () => {
      const { store } = await factory();
      await store.commit({ appendPending: [op(10), op(2)] });
      await store.commit({ appendPending: [op(1), op(100)] });
      expect((await store.getPending()).map((p) => p.seq)).toEqual([1, 2, 10, 100]);
      expect((await store.getPending(2)).map((p) => p.seq)).toEqual([1, 2]);
      expect(await store.countPending()).toBe(4);
      await store.commit({ removePending: [2, 100, 555], appendPending: [op(101)] });
      expect(await store.getPending()).toEqual([op(1), op(10), op(101)]);
      expect(await store.countPending()).toBe(3);
    });

    it('reads many objects and shadows by ref, dense or scattered among others, in order', async () => {
      const { store } = await factory();
      const ids = Array.from({ length: 120 }, (_, i) => `k${String(i).padStart(3, '0')}`);
      // Every third id exists; the refs asked for are every other id (dense: few rows between
      // the smallest and largest), then a scattered few among many rows.
      const present = ids.filter((_, i) => i % 3 === 0);
      await store.commit({
        putObjects: present.map((id) => obj('c', id, { id })),
        putShadows: present.map((id) => ({
          collection: 'c',
          id,
          properties: id.endsWith('0') ? null : { id },
        })),
      });
      const asked = ids.filter((_, i) => i % 2 === 0).reverse();
      const refs = asked.map((id) => ({ collection: 'c', id }));
      const expected = asked.map((id) => (present.includes(id) ? { id } : null));
      expect(await store.getObjects(refs)).toEqual(expected);
      expect(await store.getShadowsOf(refs)).toEqual(
        asked.map((id) =>
          present.includes(id)
            ? { collection: 'c', id, properties: id.endsWith('0') ? null : { id } }
            : undefined,
        ),
      );
      const scattered = [...present.slice(0, 20), 'k001', 'k119'].map((id) => ({ collection: 'c', id }));
      await store.commit({ putObjects: ids.map((id) => obj('c', id, { id })) });
      expect(await store.getObjects(scattered)).toEqual(scattered.map(({ id }) => ({ id })));
      expect(await store.getObjects([...scattered, { collection: 'other', id: 'k001' }])).toEqual([
        ...scattered.map(({ id }) => ({ id })),
        null,
      ]);
    });

    it('removes pending operations given as runs and stragglers, keeping the rest in order', async () => {
      const { store } = await factory();
      await store.commit({ appendPending: Array.from({ length: 40 }, (_, i) => op(i + 1)) });
      const remove = [...Array.from({ length: 15 }, (_, i) => i + 1), 17, 20, 21, 22, 39];
      await store.commit({ removePending: [22, ...remove.slice(0, -1).reverse(), 39] });
      const kept = Array.from({ length: 40 }, (_, i) => i + 1).filter((seq) => !remove.includes(seq));
      expect((await store.getPending()).map((p) => p.seq)).toEqual(kept);
      expect(await store.countPending()).toBe(kept.length);
    });

    it('replaces the state as a whole', async () => {
      const { store } = await factory();
      const inFlight = {
        parentVersionId: '6f7a2f65-2c8a-4b43-9a87-0c8d3cf1f0b1',
        versions: [
          { versionId: '0b0f1f49-7c4c-4d0a-8a4e-8d7b6a1d2c3e', firstSeq: 1, count: 2 },
          { versionId: '3c1d8e2a-5b7f-4e0a-9c6d-2f8b1a7e4d90', firstSeq: 3, count: 1 },
        ],
      };
      await store.commit({ state: state({ inFlight }) });
      expect(await store.readState()).toEqual(state({ inFlight }));
      await store.commit({ state: state({ nextSeq: 9 }) });
      expect(await store.readState()).toEqual(state({ nextSeq: 9 }));
    });

    // Issue 12 (landed plans): the replica id and the chain's record of landed plans are state too.
    it("keeps the replica id, the record of landed plans and the plan's replica id with the state", async () => {
      const { store } = await factory();
      const replicaId = '9d3f0c57-61a4-4c2e-8f1b-7a0e5d2c4b68';
      const landed = { from: 2, seqs: { [replicaId]: 5, '1e6a9b3c-0d4f-4a7e-b2c1-5f8e7d6a9c0b': 12 } };
      const inFlight = {
        replicaId,
        parentVersionId: '6f7a2f65-2c8a-4b43-9a87-0c8d3cf1f0b1',
        versions: [{ versionId: '0b0f1f49-7c4c-4d0a-8a4e-8d7b6a1d2c3e', firstSeq: 6, count: 1 }],
      };
      await store.commit({ state: state({ replicaId, landed, inFlight }) });
      expect(await store.readState()).toEqual(state({ replicaId, landed, inFlight }));
    });

    it('copies in and out: changing what was written or read changes nothing stored', async () => {
      const { store } = await factory();
      const nested = { list: [1, 2], inner: { x: 'y' } };
      const written = obj('c', 'a', { nested });
      const pending = op(1);
      const st = state();
      await store.commit({ putObjects: [written], appendPending: [pending], state: st });
      nested.list.push(3);
      (pending.op as { value: unknown }).value = 'changed';
      (st as { baseHeight: number }).baseHeight = 99;
      const [read] = await store.getObjects([{ collection: 'c', id: 'a' }]);
      expect(read).toEqual({ nested: { list: [1, 2], inner: { x: 'y' } } });
      ((read as { nested: { list: number[] } }).nested.list as number[]).push(4);
      const listed = await store.listObjects('c');
      (listed[0]!.properties as { nested: { inner: { x: string } } }).nested.inner.x = 'z';
      const readState = await store.readState();
      (readState as { nextSeq: number }).nextSeq = 1234;
      const queue = await store.getPending();
      (queue[0]!.op as { value: unknown }).value = 'mutated';
      expect(await store.getObjects([{ collection: 'c', id: 'a' }])).toEqual([
        { nested: { list: [1, 2], inner: { x: 'y' } } },
      ]);
      expect(await store.readState()).toEqual(state());
      expect(await store.getPending()).toEqual([op(1)]);
    });

    it('a commit whose last part cannot be stored leaves nothing of it', async () => {
      const { store } = await factory();
      await store.commit({ putObjects: [obj('c', 'keep')], appendPending: [op(1)], state: state() });
      const before = await dump(store);
      await expect(
        store.commit({
          clearObjects: true,
          putObjects: [obj('c', 'new')],
          putShadows: [{ collection: 'c', id: 'new', properties: null }],
          appendPending: [op(2)],
          removePending: [1],
          state: state({ baseVersionId: UNSTORABLE }),
        }),
      ).rejects.toBeDefined();
      expect(await dump(store)).toEqual(before);
    });

    it('a commit that fails midway (an unstorable pending operation) leaves nothing of it', async () => {
      const { store } = await factory();
      await store.commit({ putObjects: [obj('c', 'keep', { v: 1 })] });
      const before = await dump(store);
      const bad = {
        seq: 3,
        op: { type: 'update', collection: 'c', id: 'x', property: 'p', value: UNSTORABLE, timestamp: 1 },
      };
      await expect(
        store.commit({
          deleteObjects: [{ collection: 'c', id: 'keep' }],
          appendPending: [op(2), bad as unknown as PendingOperation, op(4)],
          state: state(),
        }),
      ).rejects.toBeDefined();
      expect(await dump(store)).toEqual(before);
      // The store still works after the failed commit.
      await store.commit({ appendPending: [op(5)] });
      expect((await store.getPending()).map((p) => p.seq)).toEqual([5]);
    });

    it('commits issued without waiting apply in the order issued', async () => {
      const { store } = await factory();
      const commits: Promise<void>[] = [];
      for (let i = 1; i <= 20; i++) {
        commits.push(
          store.commit({
            putObjects: [obj('c', 'x', { i })],
            appendPending: [op(i)],
            state: state({ nextSeq: i + 1 }),
          }),
        );
      }
      commits.push(store.commit({ deleteObjects: [{ collection: 'c', id: 'x' }], removePending: [1, 2] }));
      await Promise.all(commits);
      expect(await store.listObjects()).toEqual([]);
      expect(await store.countPending()).toBe(18);
      expect((await store.readState()).nextSeq).toBe(21);
    });

    it('survives a reload: objects, shadows, the pending queue and the state', async (ctx) => {
      const harness = await factory();
      if (!harness.reopen) {
        ctx.skip();
        return;
      }
      const ops: Operation[] = [];
      await harness.store.commit({
        putObjects: [obj('c', 'a', { title: 'kept' })],
        putShadows: [{ collection: 'c', id: 'a', properties: null }],
        appendPending: [op(1, 'a'), op(2, 'a')],
        state: state({ nextSeq: 3 }),
      });
      for (const p of await harness.store.getPending()) ops.push(p.op);
      const before = await dump(harness.store);
      const reopened = await harness.reopen();
      expect(await dump(reopened)).toEqual(before);
      expect((await reopened.getPending()).map((p) => p.op)).toEqual(ops);
      await reopened.commit({ removePending: [1] });
      expect(await reopened.countPending()).toBe(1);
    });
  });
}
