import type { ObjectRef, StoredObject } from '../../src/contracts/replica.js';
import type { ChunkRow, OverlayRow } from './schema.js';
import { objectKey } from '../../src/core/operations.js';

/** A chunk holds at most this many objects (docs/chunked-store.md). */
export const CHUNK_MAX_OBJECTS = 64;

/**
 * A chunk holds about this many characters of properties (their JSON length), so a record stays
 * small enough that reading it for one object costs about what reading one object did.
 */
export const CHUNK_MAX_CHARS = 8 * 1024;

/** The IndexedDB key of an object, a shadow or an overlay row. */
export const keyOf = (ref: ObjectRef): [string, string] => [ref.collection, ref.id];

/** IndexedDB's order of `[collection, id]` keys: strings compare by UTF-16 code units, as here. */
export function compareRefs(a: ObjectRef, b: ObjectRef): number {
  if (a.collection !== b.collection) return a.collection < b.collection ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/** The length of `value`'s JSON: cheap, and close enough to what IndexedDB stores. */
function sizeOf(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 0; // a BigInt or a cycle: structured clone stores it, the count bound still holds
  }
}

/**
 * The chunks a bootstrap (or a fold, for one chunk's objects) writes for `objects`: grouped per collection, sorted by id, at most
 * {@link CHUNK_MAX_OBJECTS} objects and about {@link CHUNK_MAX_CHARS} of properties each (a larger
 * object gets a chunk of its own). Where `objects` names one object twice, the later wins, as puts
 * applied in order would.
 */
export function toChunks(objects: readonly StoredObject[]): ChunkRow[] {
  let sorted = objects;
  let previous: StoredObject | undefined;
  for (const object of objects) {
    if (previous && compareRefs(previous, object) >= 0) {
      // Stable: of equal keys, the one given last stays last.
      sorted = [...objects].sort(compareRefs);
      break;
    }
    previous = object;
  }
  const chunks: ChunkRow[] = [];
  let current: StoredObject[] = [];
  let chars = 0;
  const close = () => {
    const last = current.at(-1);
    if (last) chunks.push({ collection: last.collection, lastId: last.id, objects: current });
    current = [];
    chars = 0;
  };
  for (const [i, object] of sorted.entries()) {
    const next = sorted[i + 1];
    if (next && compareRefs(object, next) === 0) continue; // the later one wins
    const size = sizeOf(object.properties);
    const head = current[0];
    if (
      head &&
      (head.collection !== object.collection ||
        current.length >= CHUNK_MAX_OBJECTS ||
        chars + size > CHUNK_MAX_CHARS)
    ) {
      close();
    }
    current.push(object);
    chars += size;
  }
  close();
  return chunks;
}

/** The object `ref` names in `chunk` (the first chunk whose key is at or above `ref`'s), if any. */
export function findInChunk(chunk: ChunkRow | undefined, ref: ObjectRef): StoredObject | undefined {
  if (!chunk || chunk.collection !== ref.collection) return undefined;
  const { objects } = chunk;
  let [lo, hi] = [0, objects.length - 1];
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const object = objects[mid];
    if (!object) break;
    if (object.id === ref.id) return object;
    if (object.id < ref.id) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Index of the first of `chunks` (sorted by key) whose key is at or above `ref`'s. */
function firstChunkAtOrAbove(chunks: readonly ChunkRow[], ref: ObjectRef): number {
  let [lo, hi] = [0, chunks.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const c = chunks[mid];
    if (c && compareRefs({ collection: c.collection, id: c.lastId }, ref) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The objects of `chunks` (sorted by key) and of `overlay` (sorted by key), merged in key order:
 * an overlay row replaces the chunks' copy, a tombstone removes it.
 */
export function mergeLayers(chunks: readonly ChunkRow[], overlay: readonly OverlayRow[]): StoredObject[] {
  const live = (rows: readonly OverlayRow[]) => rows.filter((r): r is StoredObject => r.properties !== null);
  if (overlay.length === 0) return chunks.flatMap((c) => c.objects);
  if (chunks.length === 0) return live(overlay);
  const out: StoredObject[] = [];
  let o = 0;
  for (const chunk of chunks) {
    for (const object of chunk.objects) {
      let row = overlay[o];
      while (row && compareRefs(row, object) < 0) {
        if (row.properties !== null) out.push(row as StoredObject);
        row = overlay[++o];
      }
      if (row && compareRefs(row, object) === 0) {
        if (row.properties !== null) out.push(row as StoredObject);
        o++;
      } else {
        out.push(object);
      }
    }
  }
  out.push(...live(overlay.slice(o)));
  return out;
}

/** The part of the chunk store {@link chunksOf} reads. */
export interface ChunkRows {
  getAll(range: IDBKeyRange, count?: number): Promise<ChunkRow[]>;
  count(range: IDBKeyRange): Promise<number>;
}

/** A batch this large is worth one `count` to see whether a ranged read can replace its gets. */
export const RANGED_READ_MIN = 32;

/**
 * The key range from the smallest to the largest of `refs`, for a batch of at least
 * {@link RANGED_READ_MIN} (one ranged read may then replace a request per ref); `undefined` for a
 * smaller one.
 */
export function spanOf(refs: readonly ObjectRef[]): { range: IDBKeyRange; max: ObjectRef } | undefined {
  const [head] = refs;
  if (!head || refs.length < RANGED_READ_MIN) return undefined;
  let [min, max] = [head, head];
  for (const ref of refs) {
    if (compareRefs(ref, min) < 0) min = ref;
    if (compareRefs(ref, max) > 0) max = ref;
  }
  return { range: IDBKeyRange.bound(keyOf(min), keyOf(max)), max };
}

/**
 * For each of `refs`, the chunk that would hold it (the first whose key is at or above the ref's),
 * in order. One request per ref, or, for a batch whose span holds few chunks (objects read at most
 * a few times the objects asked for), one ranged `getAll` of the span and the chunk after it.
 */
export async function chunksOf(
  store: ChunkRows,
  refs: readonly ObjectRef[],
): Promise<(ChunkRow | undefined)[]> {
  const span = spanOf(refs);
  if (span && (await store.count(span.range)) * CHUNK_MAX_OBJECTS <= 4 * refs.length) {
    const [inSpan, after] = await Promise.all([
      store.getAll(span.range),
      store.getAll(IDBKeyRange.lowerBound(keyOf(span.max), true), 1),
    ]);
    const sorted = [...inSpan, ...after];
    return refs.map((ref) => sorted[firstChunkAtOrAbove(sorted, ref)]);
  }
  return Promise.all(refs.map(async (ref) => (await store.getAll(IDBKeyRange.lowerBound(keyOf(ref)), 1))[0]));
}

/** What a fold writes to the chunk store ({@link foldRows}): keys to delete first, then chunks to put. */
export interface FoldPlan {
  readonly deleteKeys: Array<[string, string]>;
  readonly putChunks: ChunkRow[];
}

/**
 * The chunk writes that fold overlay `rows` (sorted by key) into the chunks covering them.
 * `covering[i]` is the first chunk whose key is at or above `rows[i]`'s ({@link chunksOf}); where it
 * is not of the row's collection, the row is past its collection's last chunk and goes to
 * `lastChunks.get(collection)`, or, for a collection with no chunk, to new chunks. Each touched
 * chunk is merged with its rows ({@link mergeLayers}: puts replace or insert, tombstones remove,
 * a tombstone of an object the chunk lacks is dropped) and cut again by {@link toChunks}, so it
 * keeps the chunk bounds (an overflowing chunk splits, an emptied one disappears); its old key is
 * deleted unless a new chunk has it. A chunk the rows leave as it was is not rewritten.
 */
export function foldRows(
  rows: readonly OverlayRow[],
  covering: readonly (ChunkRow | undefined)[],
  lastChunks: ReadonlyMap<string, ChunkRow | undefined>,
): FoldPlan {
  const groups = new Map<string, { chunk: ChunkRow | undefined; rows: OverlayRow[] }>();
  rows.forEach((row, i) => {
    const cover = covering[i];
    const chunk = cover?.collection === row.collection ? cover : lastChunks.get(row.collection);
    const key = chunk
      ? objectKey({ collection: chunk.collection, id: chunk.lastId })
      : JSON.stringify([row.collection]);
    const group = groups.get(key);
    if (group) group.rows.push(row);
    else groups.set(key, { chunk, rows: [row] });
  });
  const plan: FoldPlan = { deleteKeys: [], putChunks: [] };
  for (const { chunk, rows: own } of groups.values()) {
    const merged = mergeLayers(chunk ? [chunk] : [], own);
    const unchanged =
      own.every((r) => r.properties === null) && merged.length === (chunk?.objects.length ?? 0);
    if (unchanged) continue; // only tombstones of objects it does not hold
    const next = toChunks(merged);
    if (chunk && !next.some((c) => c.lastId === chunk.lastId))
      plan.deleteKeys.push([chunk.collection, chunk.lastId]);
    plan.putChunks.push(...next);
  }
  return plan;
}
