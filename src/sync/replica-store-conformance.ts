/**
 * The conformance suite of {@link ReplicaStore}: what the engine relies on from any local store
 * (memory here, IndexedDB in the worker). Call it from a `*.test.ts` beside the implementation.
 */
import { describe, expect, it } from 'vitest';
import type { Operation } from './operations.js';
import { INITIAL_REPLICA_STATE, type ReplicaStore, type ReplicaWrite } from './replica-store.js';

/** Makes a fresh, empty store for each case. */
export type ReplicaStoreFactory = () => ReplicaStore | Promise<ReplicaStore>;

const op = (id: string, value?: unknown): Operation =>
  value === undefined
    ? { type: 'create', collection: 'c', id }
    : { type: 'update', collection: 'c', id, property: 'p', value: value as never, timestamp: 1 };

/** Runs the ReplicaStore conformance suite against `factory`'s stores. */
export function replicaStoreConformance(name: string, factory: ReplicaStoreFactory): void {
  describe(`ReplicaStore conformance: ${name}`, () => {
    it('starts empty, with the initial state', async () => {
      const store = await factory();
      expect(await store.readState()).toEqual(INITIAL_REPLICA_STATE);
      expect(await store.listObjects()).toEqual([]);
      expect(await store.getObjects([{ collection: 'c', id: 'x' }])).toEqual([null]);
      expect(await store.getPending()).toEqual([]);
      expect(await store.countPending()).toBe(0);
      expect(await store.getShadows()).toEqual([]);
      expect(await store.getShadowsOf([{ collection: 'c', id: 'x' }])).toEqual([undefined]);
    });

    it('puts, deletes and lists objects ordered by collection, then id', async () => {
      const store = await factory();
      await store.commit({
        putObjects: [
          { collection: 'b', id: 'z', properties: { n: 1 } },
          { collection: 'a', id: 'y', properties: { nested: { deep: [1, 'two', null, true] } } },
          { collection: 'a', id: 'x', properties: {} },
          { collection: 'a', id: 'gone', properties: { n: 0 } },
        ],
      });
      await store.commit({
        deleteObjects: [
          { collection: 'a', id: 'gone' },
          { collection: 'a', id: 'never-existed' },
        ],
        putObjects: [{ collection: 'b', id: 'z', properties: { n: 2 } }],
      });
      expect(await store.listObjects()).toEqual([
        { collection: 'a', id: 'x', properties: {} },
        { collection: 'a', id: 'y', properties: { nested: { deep: [1, 'two', null, true] } } },
        { collection: 'b', id: 'z', properties: { n: 2 } },
      ]);
      expect(await store.listObjects('b')).toEqual([{ collection: 'b', id: 'z', properties: { n: 2 } }]);
      expect(
        await store.getObjects([
          { collection: 'b', id: 'z' },
          { collection: 'a', id: 'gone' },
          { collection: 'a', id: 'x' },
        ]),
      ).toEqual([{ n: 2 }, null, {}]);
    });

    it('keeps collection and id apart (no ambiguous keys)', async () => {
      const store = await factory();
      await store.commit({
        putObjects: [
          { collection: 'a/b', id: 'c', properties: { which: 1 } },
          { collection: 'a', id: 'b/c', properties: { which: 2 } },
          { collection: 'a\u0000b', id: 'c', properties: { which: 3 } },
        ],
      });
      expect((await store.listObjects()).length).toBe(3);
      expect(await store.getObjects([{ collection: 'a', id: 'b/c' }])).toEqual([{ which: 2 }]);
    });

    it('clearObjects removes everything before the puts of the same commit', async () => {
      const store = await factory();
      await store.commit({ putObjects: [{ collection: 'c', id: 'old', properties: {} }] });
      await store.commit({
        clearObjects: true,
        putObjects: [{ collection: 'c', id: 'new', properties: {} }],
      });
      expect((await store.listObjects()).map((o) => o.id)).toEqual(['new']);
    });

    it('keeps the pending queue in seq order; removes by seq; limits and counts', async () => {
      const store = await factory();
      await store.commit({ appendPending: [1, 2, 3].map((seq) => ({ seq, op: op(`o${seq}`) })) });
      await store.commit({ appendPending: [{ seq: 4, op: op('o4', { v: [1] }) }], removePending: [2] });
      expect((await store.getPending()).map((p) => p.seq)).toEqual([1, 3, 4]);
      expect(await store.getPending(2)).toEqual([
        { seq: 1, op: op('o1') },
        { seq: 3, op: op('o3') },
      ]);
      expect((await store.getPending()).at(-1)).toEqual({ seq: 4, op: op('o4', { v: [1] }) });
      expect(await store.countPending()).toBe(3);
    });

    it('an update that removes a property (value undefined) reads back without a value', async () => {
      const store = await factory();
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

    it('puts, deletes and clears shadows, including absent-at-base (null) ones', async () => {
      const store = await factory();
      await store.commit({
        putShadows: [
          { collection: 'c', id: 'a', properties: { n: 1 } },
          { collection: 'c', id: 'b', properties: null },
        ],
      });
      expect(
        await store.getShadowsOf([
          { collection: 'c', id: 'b' },
          { collection: 'c', id: 'z' },
        ]),
      ).toEqual([{ collection: 'c', id: 'b', properties: null }, undefined]);
      await store.commit({ deleteShadows: [{ collection: 'c', id: 'a' }] });
      expect(await store.getShadows()).toEqual([{ collection: 'c', id: 'b', properties: null }]);
      await store.commit({ clearShadows: true, putShadows: [{ collection: 'c', id: 'n', properties: {} }] });
      expect(await store.getShadows()).toEqual([{ collection: 'c', id: 'n', properties: {} }]);
    });

    it('replaces the state as a whole', async () => {
      const store = await factory();
      const state = {
        baseVersionId: crypto.randomUUID(),
        baseHeight: 7,
        nextSeq: 12,
        inFlight: {
          versionId: crypto.randomUUID(),
          parentVersionId: crypto.randomUUID(),
          firstSeq: 3,
          count: 2,
        },
      };
      await store.commit({ state });
      expect(await store.readState()).toEqual(state);
      await store.commit({ state: { ...state, inFlight: null } });
      expect((await store.readState()).inFlight).toBeNull();
    });

    it('a commit that fails applies nothing', async () => {
      const store = await factory();
      await store.commit({ putObjects: [{ collection: 'c', id: 'before', properties: { n: 1 } }] });
      const poisoned = {};
      Object.defineProperty(poisoned, 'boom', {
        enumerable: true,
        get() {
          throw new Error('unserialisable');
        },
      });
      const write: ReplicaWrite = {
        putObjects: [{ collection: 'c', id: 'new', properties: {} }],
        deleteObjects: [{ collection: 'c', id: 'before' }],
        appendPending: [{ seq: 1, op: op('x', poisoned) }],
        state: { ...INITIAL_REPLICA_STATE, nextSeq: 2 },
      };
      await expect(store.commit(write)).rejects.toThrow();
      expect(await store.listObjects()).toEqual([{ collection: 'c', id: 'before', properties: { n: 1 } }]);
      expect(await store.countPending()).toBe(0);
      expect(await store.readState()).toEqual(INITIAL_REPLICA_STATE);
    });

    it('copies data in and out: callers cannot mutate what is stored', async () => {
      const store = await factory();
      const properties = { list: [1] };
      await store.commit({ putObjects: [{ collection: 'c', id: 'x', properties }] });
      properties.list.push(2);
      const [read] = await store.getObjects([{ collection: 'c', id: 'x' }]);
      (read?.list as number[]).push(3);
      expect(await store.getObjects([{ collection: 'c', id: 'x' }])).toEqual([{ list: [1] }]);
      const listed = await store.listObjects();
      (listed[0]?.properties.list as number[]).push(4);
      expect(await store.getObjects([{ collection: 'c', id: 'x' }])).toEqual([{ list: [1] }]);
    });
  });
}
