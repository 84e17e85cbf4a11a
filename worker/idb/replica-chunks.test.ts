/**
 * The replica store's two layers (issue 13 part 2, docs/chunked-store.md): a bootstrap writes
 * chunks, other writes the overlay; reads merge them; schema 4's per-object store survives the
 * upgrade as the overlay. In Node on fake-indexeddb, in the browsers on their own IndexedDB.
 */
import { describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import fc from 'fast-check';
import type { ObjectRef, StoredObject } from '../../src/contracts/replica.js';
import { INITIAL_REPLICA_STATE, type PendingOperation } from '../../src/contracts/replica-store.js';
import { MemoryReplicaStore } from '../../src/memory/memory-replica-store.js';
import { CHUNK_MAX_CHARS, CHUNK_MAX_OBJECTS, compareRefs, toChunks } from './replica-chunks.js';
import { REPLICA_STATE_KEY, SCHEMA_VERSION, upgradeSteps, type ChainsyncDb } from './schema.js';

// Node has no IndexedDB: install fake-indexeddb there; the browser keeps its own.
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
const { IdbConnection } = await import('./connection.js');
const { IdbReplicaStore } = await import('./idb-replica-store.js');

const obj = (collection: string, id: string, n: number): StoredObject => ({
  collection,
  id,
  properties: { n },
});
const pad = (i: number) => String(i).padStart(5, '0');
const fresh = () => `chainsync:chunks-${crypto.randomUUID()}`;

/** The records of `store` in the database `name`, read behind the replica store's back. */
async function records(
  connection: InstanceType<typeof IdbConnection>,
  store: 'replicaChunks' | 'replicaOverlay',
) {
  return connection.read([store], (tx) => tx.objectStore(store).getAll());
}

describe('toChunks', () => {
  it('groups per collection, sorted by id, at most CHUNK_MAX_OBJECTS each, keyed by the last id', () => {
    const objects = [
      ...Array.from({ length: 150 }, (_, i) => obj('b', pad(149 - i), i)),
      ...Array.from({ length: 3 }, (_, i) => obj('a', pad(i), i)),
    ];
    const chunks = toChunks(objects);
    expect(chunks.map((c) => [c.collection, c.lastId, c.objects.length])).toEqual([
      ['a', pad(2), 3],
      ['b', pad(63), 64],
      ['b', pad(127), 64],
      ['b', pad(149), 22],
    ]);
    expect(chunks.flatMap((c) => c.objects)).toEqual([...objects].sort(compareRefs));
    expect(CHUNK_MAX_OBJECTS).toBe(64);
  });

  it('closes a chunk before its properties pass CHUNK_MAX_CHARS; a large object gets a chunk alone', () => {
    const text = 'x'.repeat(CHUNK_MAX_CHARS / 4);
    const big = 'y'.repeat(CHUNK_MAX_CHARS * 2);
    const objects: StoredObject[] = [
      ...Array.from({ length: 6 }, (_, i) => ({ collection: 'c', id: `a${i}`, properties: { text } })),
      { collection: 'c', id: 'b', properties: { big } },
      { collection: 'c', id: 'c', properties: { n: 1 } },
    ];
    const sizes = toChunks(objects).map((c) => c.objects.map((o) => o.id));
    expect(sizes).toEqual([['a0', 'a1', 'a2'], ['a3', 'a4', 'a5'], ['b'], ['c']]);
  });

  it('of one object named twice, keeps the later (as puts applied in order would)', () => {
    const chunks = toChunks([obj('c', 'b', 1), obj('c', 'a', 1), obj('c', 'b', 2)]);
    expect(chunks.flatMap((c) => c.objects)).toEqual([obj('c', 'a', 1), obj('c', 'b', 2)]);
  });
});

describe('IdbReplicaStore: chunks and overlay', () => {
  it('a bootstrap is written as chunks; reads, overlay writes, tombstones and a reload see one set', async () => {
    const name = fresh();
    let connection = new IdbConnection(name);
    let store = new IdbReplicaStore(connection);
    await store.commit({ putObjects: [obj('x', 'before', 0)] });
    const set = [...Array.from({ length: 1000 }, (_, i) => obj('c', pad(i), i)), obj('d', 'only', 7)];
    await store.commit({ clearObjects: true, putObjects: [...set].reverse() });
    const chunks = await records(connection, 'replicaChunks');
    expect(chunks.length).toBe(Math.ceil(1000 / CHUNK_MAX_OBJECTS) + 1);
    expect(await records(connection, 'replicaOverlay')).toEqual([]);
    expect(await store.listObjects()).toEqual(set);
    expect(await store.listObjects('d')).toEqual([obj('d', 'only', 7)]);
    expect(await store.listObjects('x')).toEqual([]);
    // One by one (overlay and chunk asked at once) and as a batch (ranged reads).
    expect(await store.getObjects([{ collection: 'c', id: pad(640) }])).toEqual([{ n: 640 }]);
    const refs: ObjectRef[] = [
      ...set.map(({ collection, id }) => ({ collection, id })),
      { collection: 'c', id: 'zzz' },
      { collection: 'c', id: '' },
      { collection: 'x', id: 'before' },
    ];
    expect(await store.getObjects(refs)).toEqual([...set.map((o) => o.properties), null, null, null]);

    // Overlay writes: an update of a chunk's object, a delete of one, a new object between chunks.
    await store.commit({
      putObjects: [obj('c', pad(5), -5), obj('c', `${pad(63)}a`, -63)],
      deleteObjects: [
        { collection: 'c', id: pad(6) },
        { collection: 'd', id: 'only' },
      ],
    });
    const expected = set
      .filter((o) => o.id !== pad(6) && o.id !== 'only')
      .map((o) => (o.id === pad(5) ? obj('c', pad(5), -5) : o));
    expected.splice(63, 0, obj('c', `${pad(63)}a`, -63));
    expect(await store.listObjects()).toEqual(expected);
    expect(await store.listObjects('c')).toEqual(expected);
    expect(await store.listObjects('d')).toEqual([]);
    expect(
      await store.getObjects([
        { collection: 'c', id: pad(5) },
        { collection: 'c', id: pad(6) },
        { collection: 'd', id: 'only' },
        { collection: 'c', id: `${pad(63)}a` },
      ]),
    ).toEqual([{ n: -5 }, null, null, { n: -63 }]);
    expect(await store.getObjects(expected.map(({ collection, id }) => ({ collection, id })))).toEqual(
      expected.map((o) => o.properties),
    );
    // Deleted, then created again: the overlay row replaces the tombstone.
    await store.commit({ putObjects: [obj('c', pad(6), 66)] });
    expect(await store.getObjects([{ collection: 'c', id: pad(6) }])).toEqual([{ n: 66 }]);

    connection.close();
    connection = new IdbConnection(name);
    store = new IdbReplicaStore(connection);
    expect((await store.listObjects()).length).toBe(expected.length + 1);

    // The next bootstrap replaces both layers.
    await store.commit({ clearObjects: true, putObjects: [obj('c', 'new', 1)] });
    expect(await store.listObjects()).toEqual([obj('c', 'new', 1)]);
    expect(await records(connection, 'replicaOverlay')).toEqual([]);
    expect(await store.getObjects([{ collection: 'c', id: pad(5) }])).toEqual([null]);
    connection.close();
  });

  it('behaves as the memory store over random bootstraps, puts and deletes', async () => {
    const ref = fc.record({
      collection: fc.constantFrom('a', 'b', 'c'),
      id: fc.stringMatching(/^[a-e]{1,3}$/),
    });
    const object = fc.record({
      collection: fc.constantFrom('a', 'b', 'c'),
      id: fc.stringMatching(/^[a-e]{1,3}$/),
      properties: fc.record({ n: fc.integer() }),
    });
    const write = fc.record({
      clearObjects: fc.boolean(),
      putObjects: fc.array(object, { maxLength: 150 }),
      deleteObjects: fc.array(ref, { maxLength: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(write, { minLength: 1, maxLength: 5 }),
        fc.array(ref, { maxLength: 40 }),
        async (writes, asked) => {
          const connection = new IdbConnection(fresh());
          const idb = new IdbReplicaStore(connection);
          const memory = new MemoryReplicaStore();
          for (const w of writes) {
            await idb.commit(w);
            await memory.commit(w);
          }
          const all = (await memory.listObjects()).map(({ collection, id }) => ({ collection, id }));
          for (const refs of [asked, [...all, ...asked]]) {
            expect(await idb.getObjects(refs)).toEqual(await memory.getObjects(refs));
          }
          expect(await idb.listObjects()).toEqual(await memory.listObjects());
          expect(await idb.listObjects('b')).toEqual(await memory.listObjects('b'));
          connection.close();
        },
      ),
      { numRuns: 25, seed: 13 },
    );
  });

  it('a schema-4 database (one record per object) is upgraded to schema 5, its objects kept as the overlay', async () => {
    expect(SCHEMA_VERSION).toBe(5);
    const name = fresh();
    const v4 = await openDB<ChainsyncDb>(name, 4, {
      upgrade: (db, _o, _n, tx) => upgradeSteps.slice(0, 4).forEach((step) => step(db, tx)),
    });
    const objects = [obj('c', 'a', 1), obj('c', 'b', 2), obj('d', 'a', 3)];
    const pending = { seq: 1, op: { type: 'create', ...objects[1] } } as unknown as PendingOperation;
    const state = { ...INITIAL_REPLICA_STATE, baseHeight: 4, nextSeq: 2 };
    for (const o of objects) await v4.put('replicaObjects', o);
    await v4.put('replicaPending', pending);
    await v4.put('replicaState', state, REPLICA_STATE_KEY);
    v4.close();

    const connection = new IdbConnection(name);
    const store = new IdbReplicaStore(connection);
    expect(await store.listObjects()).toEqual(objects);
    expect(
      await store.getObjects([
        { collection: 'd', id: 'a' },
        { collection: 'c', id: 'z' },
      ]),
    ).toEqual([{ n: 3 }, null]);
    expect(await store.getPending()).toEqual([pending]);
    expect(await store.readState()).toEqual(state);
    expect(await records(connection, 'replicaOverlay')).toEqual(objects);
    // The upgraded database takes both kinds of write.
    await store.commit({ deleteObjects: [{ collection: 'c', id: 'a' }] });
    expect(await store.listObjects('c')).toEqual([obj('c', 'b', 2)]);
    await store.commit({ clearObjects: true, putObjects: [obj('e', 'a', 5)] });
    expect(await store.listObjects()).toEqual([obj('e', 'a', 5)]);
    connection.close();

    const db = await openDB(name);
    expect(db.version).toBe(5);
    expect([...db.objectStoreNames]).toContain('replicaChunks');
    expect([...db.objectStoreNames]).toContain('replicaOverlay');
    expect([...db.objectStoreNames]).not.toContain('replicaObjects');
    db.close();
  });
});
