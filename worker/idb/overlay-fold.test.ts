/**
 * Folding the replica's overlay back into its chunks (issue 13 part 2 follow-up,
 * docs/chunked-store.md "Folding"): the fold's plan, the fold against the memory store over random
 * writes, the background folds that keep the overlay bounded, and a fold racing the store's close.
 * In Node on fake-indexeddb, in the browsers on their own IndexedDB.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ObjectRef, Properties, StoredObject } from '../../src/contracts/replica.js';
import type { ReplicaWrite } from '../../src/contracts/replica-store.js';
import { MemoryReplicaStore } from '../../src/memory/memory-replica-store.js';
import { rejectsWith } from '../../src/testing/conformance/support.js';
import { CHUNK_MAX_CHARS, CHUNK_MAX_OBJECTS, foldRows, toChunks } from './replica-chunks.js';
import type { ChunkRow, OverlayRow } from './schema.js';

// Node has no IndexedDB: install fake-indexeddb there; the browser keeps its own.
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
const { IdbConnection } = await import('./connection.js');
const { IdbReplicaStore } = await import('./idb-replica-store.js');
type Connection = InstanceType<typeof IdbConnection>;

const obj = (collection: string, id: string, n: number): StoredObject => ({
  collection,
  id,
  properties: { n },
});
const tomb = (collection: string, id: string): OverlayRow => ({ collection, id, properties: null });
const pad = (i: number) => String(i).padStart(5, '0');
const fresh = () => `chainsync:fold-${crypto.randomUUID()}`;
const refOf = ({ collection, id }: ObjectRef): ObjectRef => ({ collection, id });

/** The records of `store`, read behind the replica store's back. */
async function records<S extends 'replicaChunks' | 'replicaOverlay'>(connection: Connection, store: S) {
  return connection.read([store], (tx) => tx.objectStore(store).getAll());
}

/** The length of `value`'s JSON, as the chunker measures it. */
const chars = (value: unknown) => JSON.stringify(value).length;

/** Every rule of the chunk layout, checked on the chunk store itself. */
function expectWellFormed(chunks: readonly ChunkRow[]): void {
  let previous: ChunkRow | undefined;
  for (const chunk of chunks) {
    const ids = chunk.objects.map((o) => o.id);
    expect(chunk.objects.length).toBeGreaterThan(0);
    expect(chunk.objects.length).toBeLessThanOrEqual(CHUNK_MAX_OBJECTS);
    if (chunk.objects.length > 1) {
      expect(chunk.objects.reduce((sum, o) => sum + chars(o.properties), 0)).toBeLessThanOrEqual(
        CHUNK_MAX_CHARS,
      );
    }
    expect(chunk.objects.every((o) => o.collection === chunk.collection && o.properties !== null)).toBe(true);
    expect(ids.at(-1)).toBe(chunk.lastId);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // Chunks of one collection hold disjoint id ranges, in key order.
    const first = chunk.objects[0];
    if (previous?.collection === chunk.collection && first) expect(first.id > previous.lastId).toBe(true);
    previous = chunk;
  }
}

describe('foldRows', () => {
  const chunkOf = (...objects: StoredObject[]) => toChunks(objects)[0] as ChunkRow;

  it('merges rows into the chunk covering them: puts replace or insert, tombstones remove, the old key goes when the last id changes', () => {
    const chunk = chunkOf(obj('c', 'b', 1), obj('c', 'd', 2), obj('c', 'f', 3));
    const rows: OverlayRow[] = [obj('c', 'a', 10), obj('c', 'd', 20), tomb('c', 'e'), tomb('c', 'f')];
    const plan = foldRows(rows, [chunk, chunk, chunk, chunk], new Map());
    expect(plan.putChunks).toEqual([
      { collection: 'c', lastId: 'd', objects: [obj('c', 'a', 10), obj('c', 'b', 1), obj('c', 'd', 20)] },
    ]);
    expect(plan.deleteKeys).toEqual([['c', 'f']]);
  });

  it('splits a chunk that overflows, drops one that empties, leaves one that only sheds tombstones of absent objects', () => {
    const full = toChunks(
      Array.from({ length: CHUNK_MAX_OBJECTS }, (_, i) => obj('c', pad(2 * i), i)),
    )[0] as ChunkRow;
    const lone = chunkOf(obj('d', 'x', 1));
    const kept = chunkOf(obj('e', 'x', 1));
    const rows: OverlayRow[] = [obj('c', pad(1), -1), tomb('d', 'x'), tomb('e', 'w')];
    const plan = foldRows(rows, [full, lone, kept], new Map());
    expect(plan.putChunks.map((c) => [c.collection, c.lastId, c.objects.length])).toEqual([
      ['c', pad(2 * (CHUNK_MAX_OBJECTS - 2)), CHUNK_MAX_OBJECTS],
      ['c', pad(2 * (CHUNK_MAX_OBJECTS - 1)), 1],
    ]);
    expect(plan.deleteKeys).toEqual([['d', 'x']]);
  });

  it("rows past a collection's last chunk join it; a collection without chunks gets new ones", () => {
    const last = chunkOf(obj('c', 'a', 1));
    const other = chunkOf(obj('d', 'a', 1));
    const rows: OverlayRow[] = [obj('c', 'b', 2), tomb('c', 'c'), obj('cc', 'a', 3), tomb('cc', 'b')];
    const plan = foldRows(rows, [other, other, other, other], new Map([['c', last]]));
    expect(plan.putChunks).toEqual([
      { collection: 'c', lastId: 'b', objects: [obj('c', 'a', 1), obj('c', 'b', 2)] },
      { collection: 'cc', lastId: 'a', objects: [obj('cc', 'a', 3)] },
    ]);
    expect(plan.deleteKeys).toEqual([['c', 'a']]);
  });
});

describe('IdbReplicaStore.fold', () => {
  it('behaves as the memory store, checked after every step, over random bootstraps, puts, deletes and folds', async () => {
    const collection = fc.constantFrom('a', 'b', 'c');
    // Ids around chunk boundaries (every 64th of a dense bootstrap), between them, and past the end.
    const id = fc.oneof(
      fc.integer({ min: 0, max: 260 }).map(pad),
      fc.integer({ min: 0, max: 4 }).map((k) => pad(64 * k + 63)),
      fc.integer({ min: 0, max: 4 }).map((k) => `${pad(64 * k + 63)}a`),
      fc.constantFrom('0', 'zz', '~'),
    );
    const properties: fc.Arbitrary<Properties> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ n: fc.integer() }) },
      { weight: 1, arbitrary: fc.record({ text: fc.constant('t'.repeat(CHUNK_MAX_CHARS / 3)) }) },
    );
    const object = fc.record({ collection, id, properties });
    const ref = fc.record({ collection, id });
    const bootstrap = fc
      .array(
        fc.record({
          collection,
          from: fc.integer({ min: 0, max: 100 }),
          count: fc.integer({ min: 0, max: 200 }),
          step: fc.integer({ min: 1, max: 3 }),
          big: fc.boolean(),
        }),
        { maxLength: 3 },
      )
      .map((runs): ReplicaWrite => ({
        clearObjects: true,
        putObjects: runs.flatMap((r) =>
          Array.from({ length: r.count }, (_, k): StoredObject => ({
            collection: r.collection,
            id: pad(r.from + k * r.step),
            properties: r.big && k % 5 === 0 ? { text: 't'.repeat(CHUNK_MAX_CHARS / 4) } : { n: k },
          })),
        ),
      }));
    const step = fc.oneof(
      { weight: 1, arbitrary: bootstrap.map((write) => ({ write })) },
      {
        weight: 4,
        arbitrary: fc
          .record({
            putObjects: fc.array(object, { maxLength: 30 }),
            deleteObjects: fc.array(ref, { maxLength: 30 }),
          })
          .map((write) => ({ write })),
      },
      {
        weight: 3,
        arbitrary: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(1024)).map((fold) => ({ fold })),
      },
    );
    const probes: ObjectRef[] = [
      { collection: 'a', id: pad(63) },
      { collection: 'b', id: `${pad(127)}a` },
      { collection: 'c', id: '~' },
      { collection: 'd', id: pad(0) },
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const connection = new IdbConnection(fresh());
        // No background folds: the steps say when to fold.
        const idb = new IdbReplicaStore(connection, { foldThreshold: Infinity });
        const memory = new MemoryReplicaStore();
        const seen = new Map<string, ObjectRef>();
        try {
          for (const s of steps) {
            if ('fold' in s) {
              const left = await idb.fold(s.fold);
              expect(left).toBe((await records(connection, 'replicaOverlay')).length);
            } else {
              await idb.commit(s.write);
              await memory.commit(s.write);
              for (const r of [...(s.write.putObjects ?? []), ...(s.write.deleteObjects ?? [])]) {
                seen.set(JSON.stringify([r.collection, r.id]), refOf(r));
              }
            }
            expect(await idb.listObjects()).toEqual(await memory.listObjects());
            expect(await idb.listObjects('b')).toEqual(await memory.listObjects('b'));
            // A batch (ranged reads) and a few refs (one request each).
            const refs = [...seen.values(), ...probes];
            expect(await idb.getObjects(refs)).toEqual(await memory.getObjects(refs));
            expect(await idb.getObjects(refs.slice(-6))).toEqual(await memory.getObjects(refs.slice(-6)));
            expectWellFormed(await records(connection, 'replicaChunks'));
          }
          // Folded to the end, the overlay is empty and the chunks hold exactly the objects.
          while ((await idb.fold()) > 0);
          expect(await records(connection, 'replicaOverlay')).toEqual([]);
          const chunks = await records(connection, 'replicaChunks');
          expectWellFormed(chunks);
          expect(chunks.flatMap((c) => c.objects)).toEqual(await memory.listObjects());
        } finally {
          await connection.close();
        }
      }),
      { numRuns: 30, seed: 1313 },
    );
  }, 120_000); // a hang guard: about 16 s in WebKit on this loaded machine

  it('after many create+delete cycles, folding leaves no tombstone in either store and the background folds keep the overlay bounded', async () => {
    const connection = new IdbConnection(fresh());
    const threshold = 40;
    const store = new IdbReplicaStore(connection, {
      foldThreshold: threshold,
      foldBatch: 50,
      foldRowsPerChunk: 0,
    });
    const memory = new MemoryReplicaStore();
    const commit = async (write: ReplicaWrite) => {
      await store.commit(write);
      await memory.commit(write);
    };
    await commit({
      clearObjects: true,
      putObjects: Array.from({ length: 300 }, (_, i) => obj('c', pad(2 * i), i)),
    });
    const deleted: ObjectRef[] = [];
    for (let cycle = 0; cycle < 60; cycle++) {
      const born = Array.from({ length: 8 }, (_, k) =>
        obj(cycle % 2 ? 'c' : 'd', `${pad(cycle * 9 + k)}x`, k),
      );
      await commit({ putObjects: born });
      // Deleted again, with one object of the bootstrap.
      const gone = [...born.map(refOf), { collection: 'c', id: pad(2 * cycle) }];
      await commit({ deleteObjects: gone });
      deleted.push(...gone);
      if (cycle % 10 === 9) {
        await store.whenFolded();
        // Background folds ran: what is left is at most the threshold (no fold is under way).
        expect((await records(connection, 'replicaOverlay')).length).toBeLessThanOrEqual(threshold);
      }
    }
    expect(await store.listObjects()).toEqual(await memory.listObjects());
    await store.whenFolded();
    while ((await store.fold()) > 0);
    expect(await records(connection, 'replicaOverlay')).toEqual([]);
    const chunks = await records(connection, 'replicaChunks');
    expectWellFormed(chunks);
    const held = chunks.flatMap((c) => c.objects);
    expect(held.filter((o) => o.properties === null)).toEqual([]);
    expect(held).toEqual(await memory.listObjects());
    expect(held.length).toBe(300 - 60);
    expect(await store.getObjects(deleted)).toEqual(deleted.map(() => null));
    await connection.close();
  });

  it('an overlay written before (schema 4, or folds turned off) is counted once and folded after the next commit', async () => {
    const name = fresh();
    let connection = new IdbConnection(name);
    let store = new IdbReplicaStore(connection, { foldThreshold: Infinity });
    const objects = Array.from({ length: 120 }, (_, i) => obj('c', pad(i), i));
    await store.commit({ putObjects: objects });
    await store.whenFolded();
    expect((await records(connection, 'replicaOverlay')).length).toBe(120);
    await connection.close();

    connection = new IdbConnection(name);
    store = new IdbReplicaStore(connection, { foldThreshold: 10, foldBatch: 25 });
    await store.commit({ deleteObjects: [{ collection: 'c', id: pad(0) }] });
    await store.whenFolded();
    expect((await records(connection, 'replicaOverlay')).length).toBeLessThanOrEqual(10);
    expect(await store.listObjects()).toEqual(objects.slice(1));
    await connection.close();
  });

  it('a fold scheduled or running while the store closes neither throws nor hangs, and leaves the data as it was', async () => {
    // Closing after 0, 1, 2, ... turns of the event loop lands the close before the fold starts,
    // between its requests, and after it committed.
    for (let turns = 0; turns < 14; turns++) {
      const name = fresh();
      const connection = new IdbConnection(name);
      const store = new IdbReplicaStore(connection, {
        foldThreshold: 0,
        foldBatch: 1024,
        foldRowsPerChunk: 0,
      });
      const set = Array.from({ length: 200 }, (_, i) => obj(i % 2 ? 'a' : 'b', pad(i), i));
      await store.commit({ clearObjects: true, putObjects: set });
      const write: ReplicaWrite = {
        putObjects: [obj('a', pad(1), -1), obj('a', 'zz', 1), obj('e', 'new', 2)],
        deleteObjects: [{ collection: 'b', id: pad(64) }],
      };
      const expected = new MemoryReplicaStore();
      await expected.commit({ clearObjects: true, putObjects: set });
      await expected.commit(write);
      await store.commit(write); // schedules a fold (threshold 0)
      // An explicit fold too, racing the same close: it may finish or fail typed, never hang.
      const explicit = store.fold().then(
        () => 'folded',
        (error: unknown) => (error as { code?: unknown }).code,
      );
      for (let t = 0; t < turns; t++) await new Promise((resolve) => setTimeout(resolve, 0));
      await connection.close();
      await store.whenFolded();
      expect(['folded', 'STORE_CLOSED']).toContain(await explicit);
      await rejectsWith(store.fold(), 'STORE_CLOSED');

      const again = new IdbConnection(name);
      const reopened = new IdbReplicaStore(again, { foldThreshold: Infinity });
      expect(await reopened.listObjects()).toEqual(await expected.listObjects());
      expectWellFormed(await records(again, 'replicaChunks'));
      await again.close();
    }
  });

  it('waits for more overlay rows than foldRowsPerChunk per chunk record before folding, then folds', async () => {
    const connection = new IdbConnection(fresh());
    const store = new IdbReplicaStore(connection, { foldThreshold: 4, foldRowsPerChunk: 3 });
    // Small objects: 64 per chunk, so 640 objects make 10 chunk records and a bound of 30 rows.
    const set = Array.from({ length: 640 }, (_, i) => obj('c', pad(2 * i), i));
    await store.commit({ clearObjects: true, putObjects: set });
    expect(await records(connection, 'replicaChunks')).toHaveLength(10);
    const edit = (i: number) => obj('c', pad(2 * i + 1), 1000 + i);
    for (let i = 0; i < 30; i++) await store.commit({ putObjects: [edit(i)] });
    await store.whenFolded();
    // 30 rows: above the threshold (4) but not above 3 per chunk record: no fold.
    expect(await records(connection, 'replicaOverlay')).toHaveLength(30);
    await store.commit({ putObjects: [edit(30)] });
    await store.whenFolded();
    const overlay = await records(connection, 'replicaOverlay');
    expect(overlay.length).toBeLessThanOrEqual(4);
    const expected = new MemoryReplicaStore();
    await expected.commit({ clearObjects: true, putObjects: set });
    await expected.commit({ putObjects: Array.from({ length: 31 }, (_, i) => edit(i)) });
    expect(await store.listObjects()).toEqual(await expected.listObjects());
    expectWellFormed(await records(connection, 'replicaChunks'));
    await connection.close();
  });

  it('refuses bad options and limits with INVALID_ARGUMENT', async () => {
    const connection = new IdbConnection(fresh());
    for (const foldThreshold of [-1, 1.5, Number.NaN]) {
      expect(() => new IdbReplicaStore(connection, { foldThreshold })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    for (const foldBatch of [0, Infinity, 2.5]) {
      expect(() => new IdbReplicaStore(connection, { foldBatch })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    for (const foldRowsPerChunk of [-1, Infinity, 0.5]) {
      expect(() => new IdbReplicaStore(connection, { foldRowsPerChunk })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    const store = new IdbReplicaStore(connection);
    await rejectsWith(store.fold(0), 'INVALID_ARGUMENT');
    await connection.close();
  });
});
