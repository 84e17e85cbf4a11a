import type { ObjectRef, Properties, StoredObject } from '../../src/contracts/replica.js';
import { InvalidArgumentError, StoreClosedError } from '../../src/contracts/errors.js';
import { objectKey } from '../../src/core/operations.js';
import {
  INITIAL_REPLICA_STATE,
  type PendingOperation,
  type ReplicaState,
  type ReplicaStore,
  type ReplicaWrite,
  type ShadowObject,
} from '../../src/contracts/replica-store.js';
import { quiet, type Durability, type IdbConnection } from './connection.js';
import { GroupCommit } from './group-commit.js';
import {
  chunksOf,
  findInChunk,
  foldRows,
  keyOf,
  mergeLayers,
  RANGED_READ_MIN,
  spanOf,
  toChunks,
} from './replica-chunks.js';
import { REPLICA_STATE_KEY } from './schema.js';

const ALL: ['replicaOverlay', 'replicaChunks', 'replicaShadows', 'replicaPending', 'replicaState'] = [
  'replicaOverlay',
  'replicaChunks',
  'replicaShadows',
  'replicaPending',
  'replicaState',
];

/** Default of {@link IdbReplicaStoreOptions.foldThreshold}. */
export const FOLD_THRESHOLD = 512;

/**
 * Default of {@link IdbReplicaStoreOptions.foldBatch}. A fold holds the store's other reads and
 * writes back while it runs, and costs about the same per row whatever its batch: 256 rows took a
 * quarter of 1,024's time (`npm run bench -- sync fold`; bench/README.md).
 */
export const FOLD_BATCH = 256;

/** Default of {@link IdbReplicaStoreOptions.foldRowsPerChunk}. */
export const FOLD_ROWS_PER_CHUNK = 8;

/** Options of {@link IdbReplicaStore}. */
export interface IdbReplicaStoreOptions {
  /**
   * Once the overlay is estimated to hold more rows than this, it is folded back into the chunks
   * after the commit that crossed it ({@link IdbReplicaStore.fold}), batch by batch, until it holds
   * this many or fewer. A non-negative integer, or `Infinity` for never. Default
   * {@link FOLD_THRESHOLD}.
   */
  foldThreshold?: number;
  /** How many overlay rows one fold transaction takes at most: a positive integer. Default {@link FOLD_BATCH}. */
  foldBatch?: number;
  /**
   * The overlay is folded only once it also holds more rows than this many per chunk record. A
   * fold rewrites every chunk a row falls in (up to 64 objects each), and rows of random ids fall
   * in different chunks: waiting for several rows per chunk keeps what a fold rewrites per edit
   * near 64 / this objects (8 by default), where a fixed threshold would rewrite most of a large
   * data set's chunks every few hundred edits. A non-negative integer; 0 leaves only the
   * threshold. Default {@link FOLD_ROWS_PER_CHUNK}.
   */
  foldRowsPerChunk?: number;
}

/** `value` if it is an integer at least `min` (or `Infinity` where allowed), else a typed error. */
function countOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  infinite = false,
): number {
  if (value === undefined) return fallback;
  if ((infinite && value === Infinity) || (Number.isSafeInteger(value) && value >= min)) return value;
  throw new InvalidArgumentError(
    name,
    `must be an integer of at least ${min}${infinite ? ' or Infinity' : ''}; got ${String(value)}.`,
  );
}

/** Every key of `collection`: arrays sort after strings, so `[c, []]` is above every `[c, id]`. */
const collectionRange = (collection: string) => IDBKeyRange.bound([collection], [collection, []]);

/**
 * The {@link ReplicaStore} of the worker, on the store's IndexedDB database (its `replica*` object
 * stores). The working set has two layers (docs/chunked-store.md): a bootstrap (a commit with
 * `clearObjects`) writes its objects as chunks of many objects each (`replicaChunks`), so it pays
 * IndexedDB's per-record cost once per chunk; every other write goes to the overlay
 * (`replicaOverlay`, one record per object, tombstones for deletes), which wins over the chunks.
 * Every {@link commit} is atomic, in a readwrite transaction over all five stores shared with the
 * commits that arrived while the previous one was in flight ({@link GroupCommit}),
 * so a commit that fails anywhere (bad data, quota, a crash) leaves nothing. Commits that record a push
 * in flight or replace the data set from a snapshot are strictly durable: losing them to a power
 * cut could re-send a push under a new id. Everything else is relaxed, as in the rest of the
 * engine. IndexedDB's structured clone copies data in and out.
 *
 * The overlay does not grow for ever: the store estimates its row count (counted once, then one
 * more per overlay write) and, once that passes {@link IdbReplicaStoreOptions.foldThreshold}, folds
 * it back into the chunks ({@link fold}) in the background, after the commit that crossed it was
 * acknowledged, one fold at a time. A failed fold (quota, the store closing) is nobody's error: the
 * data is correct without it, and it is tried again once the estimate passes the threshold anew.
 */
export class IdbReplicaStore implements ReplicaStore {
  readonly #db: IdbConnection;
  readonly #group: GroupCommit<typeof ALL>;
  readonly #threshold: number;
  readonly #batch: number;
  readonly #rowsPerChunk: number;
  /** The overlay's estimated row count; `undefined` until counted. */
  #overlayRows: number | undefined;
  /** The chunk records, as of the last bootstrap or fold; `undefined` until counted. */
  #chunkRecords: number | undefined;
  /** A background fold starts once the estimate is above this: the threshold, higher after a failure. */
  #foldAbove: number;
  /** The background folds under way (they never reject). */
  #folding: Promise<void> | null = null;

  /** @throws InvalidArgumentError for an option out of range. */
  constructor(connection: IdbConnection, options: IdbReplicaStoreOptions = {}) {
    this.#db = connection;
    this.#group = new GroupCommit(connection, ALL);
    this.#threshold = countOption('foldThreshold', options.foldThreshold, FOLD_THRESHOLD, 0, true);
    this.#batch = countOption('foldBatch', options.foldBatch, FOLD_BATCH, 1);
    this.#rowsPerChunk = countOption('foldRowsPerChunk', options.foldRowsPerChunk, FOLD_ROWS_PER_CHUNK, 0);
    this.#foldAbove = this.#threshold;
  }

  /**
   * Folds up to `limit` overlay rows, the first in key order, into the chunks, in one readwrite
   * transaction (docs/chunked-store.md, "Folding"): each chunk covering a row is rewritten with it
   * (split if it overflows, dropped if emptied), rows past a collection's last chunk join that
   * chunk, tombstones of objects no chunk holds are dropped, and the folded rows are deleted.
   * Nothing a read answers changes. Resolves with the overlay's row count after the fold.
   * @throws InvalidArgumentError for a `limit` that is not a positive integer; StoreClosedError
   * once the connection is closed (also when it closes during the fold: nothing is then written).
   */
  async fold(limit: number = this.#batch): Promise<number> {
    countOption('limit', limit, limit, 1);
    return (await this.#fold(limit)).overlayRows;
  }

  /** {@link fold}, also answering how many chunk records there are after it. */
  async #fold(limit: number): Promise<{ overlayRows: number; chunkRecords: number }> {
    const db = this.#db;
    /** Issues `request` unless the connection began closing (see IdbConnection.closed). */
    const open = <T>(request: () => Promise<T>): Promise<T> => {
      if (db.closed)
        throw new StoreClosedError(`Store "${db.name}" closed during a fold; nothing was folded.`);
      return request();
    };
    return db.write(['replicaOverlay', 'replicaChunks'], async (tx) => {
      const overlay = tx.objectStore('replicaOverlay');
      const chunks = tx.objectStore('replicaChunks');
      const rows = await overlay.getAll(undefined, limit);
      const [first, last] = [rows[0], rows.at(-1)];
      if (!first || !last) return { overlayRows: 0, chunkRecords: await open(() => chunks.count()) };
      const covering = await chunksOf(
        {
          getAll: (range, count) => open(() => chunks.getAll(range, count)),
          count: (range) => open(() => chunks.count(range)),
        },
        rows,
      );
      // Rows past their collection's last chunk join it: one backward cursor per such collection.
      const past = new Set(
        rows.filter((r, i) => covering[i]?.collection !== r.collection).map((r) => r.collection),
      );
      const lastChunks = new Map(
        await Promise.all(
          [...past].map(async (c) => {
            const cursor = await open(() => chunks.openCursor(collectionRange(c), 'prev'));
            return [c, cursor?.value] as const;
          }),
        ),
      );
      const plan = foldRows(rows, covering, lastChunks);
      return open(() => {
        // From here to the commit: requests only, not awaited but the last (a failing one aborts all).
        for (const key of plan.deleteKeys) quiet(chunks.delete(key));
        for (const chunk of plan.putChunks) quiet(chunks.put(chunk));
        quiet(overlay.delete(IDBKeyRange.bound(keyOf(first), keyOf(last))));
        const counts = [overlay.count(), chunks.count()] as const;
        return Promise.all(counts).then(([overlayRows, chunkRecords]) => ({ overlayRows, chunkRecords }));
      });
    });
  }

  /** Resolves once no background fold is under way (it never rejects). For tests and shutdown. */
  async whenFolded(): Promise<void> {
    while (this.#folding) await this.#folding;
  }

  /** The overlay rows above which a fold is due: the threshold, or more rows per chunk record. */
  #foldBound(): number {
    return Math.max(this.#threshold, this.#rowsPerChunk * (this.#chunkRecords ?? 0));
  }

  /**
   * After an acknowledged commit (`chunkRecords`: how many a bootstrap wrote): counts the
   * overlay's new rows and starts folding if needed.
   */
  #afterCommit(write: ReplicaWrite, chunkRecords: number): void {
    if (write.clearObjects) {
      this.#overlayRows = 0;
      this.#chunkRecords = chunkRecords;
    } else if (this.#overlayRows !== undefined) {
      this.#overlayRows += (write.putObjects?.length ?? 0) + (write.deleteObjects?.length ?? 0);
    }
    if (this.#folding || this.#threshold === Infinity) return;
    const due = Math.max(this.#foldAbove, this.#foldBound());
    if (this.#overlayRows !== undefined && this.#chunkRecords !== undefined && this.#overlayRows <= due)
      return;
    this.#folding = this.#foldInBackground().finally(() => (this.#folding = null));
  }

  /** Counts both layers if never counted, then folds batches while the overlay is above its bound. */
  async #foldInBackground(): Promise<void> {
    // A macrotask later: whoever awaited the commit goes on first.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    try {
      if (this.#overlayRows === undefined || this.#chunkRecords === undefined) {
        const counted = await this.#db.read(['replicaOverlay', 'replicaChunks'], (tx) =>
          Promise.all([tx.objectStore('replicaOverlay').count(), tx.objectStore('replicaChunks').count()]),
        );
        [this.#overlayRows, this.#chunkRecords] = counted;
      }
      while (this.#overlayRows > this.#foldBound()) {
        ({ overlayRows: this.#overlayRows, chunkRecords: this.#chunkRecords } = await this.#fold(
          this.#batch,
        ));
      }
      this.#foldAbove = this.#threshold;
    } catch {
      // Not an error for anyone: the data is correct unfolded. Try again a threshold later.
      this.#foldAbove = (this.#overlayRows ?? 0) + this.#threshold;
    }
  }

  async readState(): Promise<ReplicaState> {
    const state = await this.#db.read(['replicaState'], (tx) =>
      tx.objectStore('replicaState').get(REPLICA_STATE_KEY),
    );
    return state ?? structuredClone(INITIAL_REPLICA_STATE);
  }

  async getObjects(refs: readonly ObjectRef[]): Promise<(Properties | null)[]> {
    if (refs.length === 0) return [];
    return this.#db.read(['replicaOverlay', 'replicaChunks'], async (tx) => {
      const overlay = tx.objectStore('replicaOverlay');
      const chunks = tx.objectStore('replicaChunks');
      if (refs.length < RANGED_READ_MIN) {
        // A few refs: the overlay row and the chunk are asked for at once, one round of requests.
        return Promise.all(
          refs.map(async (ref) => {
            const [row, [chunk]] = await Promise.all([
              overlay.get(keyOf(ref)),
              chunks.getAll(IDBKeyRange.lowerBound(keyOf(ref)), 1),
            ]);
            return row ? row.properties : (findInChunk(chunk, ref)?.properties ?? null);
          }),
        );
      }
      const rows = await readMany(overlay, refs);
      const misses = refs.filter((_, i) => rows[i] === undefined);
      const found = await chunksOf(chunks, misses);
      const inChunks = new Map(misses.map((ref, i) => [objectKey(ref), findInChunk(found[i], ref)]));
      return refs.map((ref, i) => {
        const row = rows[i];
        return row ? row.properties : (inChunks.get(objectKey(ref))?.properties ?? null);
      });
    });
  }

  async listObjects(collection?: string): Promise<StoredObject[]> {
    const range = collection === undefined ? undefined : collectionRange(collection);
    return this.#db.read(['replicaOverlay', 'replicaChunks'], async (tx) => {
      const [chunks, overlay] = await Promise.all([
        tx.objectStore('replicaChunks').getAll(range),
        tx.objectStore('replicaOverlay').getAll(range),
      ]);
      return mergeLayers(chunks, overlay);
    });
  }

  async getShadows(): Promise<ShadowObject[]> {
    return this.#db.read(['replicaShadows'], (tx) => tx.objectStore('replicaShadows').getAll());
  }

  async getShadowsOf(refs: readonly ObjectRef[]): Promise<(ShadowObject | undefined)[]> {
    if (refs.length === 0) return [];
    return this.#db.read(['replicaShadows'], (tx) => readMany(tx.objectStore('replicaShadows'), refs));
  }

  async getPending(limit?: number): Promise<PendingOperation[]> {
    return this.#db.read(['replicaPending'], (tx) =>
      tx.objectStore('replicaPending').getAll(undefined, limit),
    );
  }

  async countPending(): Promise<number> {
    return this.#db.read(['replicaPending'], (tx) => tx.objectStore('replicaPending').count());
  }

  async commit(write: ReplicaWrite): Promise<void> {
    const durability: Durability =
      write.clearObjects || (write.state?.inFlight ?? null) !== null ? 'strict' : 'relaxed';
    let chunkRecords = 0;
    try {
      await this.#group.write({
        // Requests run in the order issued and the transaction commits after the last, so they are
        // not awaited (a failing one aborts the transaction, which its `done` reports). Requests
        // refused at once (unstorable data, a bad key) throw here, before the transaction commits:
        // the group runs again without this commit, and nothing of it is written.
        run: (tx) => {
          const overlay = tx.objectStore('replicaOverlay');
          const chunks = tx.objectStore('replicaChunks');
          const shadows = tx.objectStore('replicaShadows');
          const pending = tx.objectStore('replicaPending');
          if (write.clearObjects) {
            // A bootstrap: the set is exactly its puts (its deletes, after the clear, remove
            // nothing a put does not replace), written as chunks.
            quiet(overlay.clear());
            quiet(chunks.clear());
            const written = toChunks(write.putObjects ?? []);
            for (const chunk of written) quiet(chunks.put(chunk));
            chunkRecords = written.length;
          } else {
            // A deleted object may be in a chunk: its tombstone hides it.
            for (const { collection, id } of write.deleteObjects ?? []) {
              quiet(overlay.put({ collection, id, properties: null }));
            }
            for (const o of write.putObjects ?? []) quiet(overlay.put(o));
          }
          if (write.clearShadows) quiet(shadows.clear());
          for (const ref of write.deleteShadows ?? []) quiet(shadows.delete(keyOf(ref)));
          for (const s of write.putShadows ?? []) quiet(shadows.put(s));
          for (const [first, last] of runs(write.removePending ?? [])) {
            quiet(pending.delete(first === last ? first : IDBKeyRange.bound(first, last)));
          }
          for (const p of write.appendPending ?? []) quiet(pending.put(p));
          if (write.state) quiet(tx.objectStore('replicaState').put(write.state, REPLICA_STATE_KEY));
        },
        durability,
      });
    } catch (error) {
      throw asTypedError(error);
    }
    this.#afterCommit(write, chunkRecords);
  }
}

/** The part of an object store {@link readMany} needs (objects and shadows alike). */
interface KeyedRows<T> {
  get(key: [string, string]): Promise<T | undefined>;
  getAll(range: IDBKeyRange): Promise<T[]>;
  count(range: IDBKeyRange): Promise<number>;
}

/**
 * The rows of `refs`, in order. Many keys cost one IndexedDB request each; when the rows between
 * the smallest and largest key are few (a pull of new objects, ids that sort together), one
 * ranged `getAll` reads them all, at the price of one `count` to find out.
 */
async function readMany<T extends ObjectRef>(
  store: KeyedRows<T>,
  refs: readonly ObjectRef[],
): Promise<(T | undefined)[]> {
  const span = spanOf(refs);
  if (span && (await store.count(span.range)) <= 2 * refs.length) {
    const byKey = new Map((await store.getAll(span.range)).map((row) => [objectKey(row), row]));
    return refs.map((ref) => byKey.get(objectKey(ref)));
  }
  return Promise.all(refs.map((ref) => store.get(keyOf(ref))));
}

/**
 * `seqs` as runs of consecutive integers, `[first, last]`: a push removes a prefix of the queue,
 * which one ranged delete does in a single request instead of one per operation.
 */
function runs(seqs: readonly number[]): Array<[number, number]> {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const seq of sorted) {
    const last = out.at(-1);
    if (last && seq === last[1] + 1) last[1] = seq;
    else if (!last || seq !== last[1]) out.push([seq, seq]);
  }
  return out;
}

/** Data IndexedDB cannot store (a function, a bad key) is the caller's bad input. */
function asTypedError(error: unknown): unknown {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'DataCloneError' || name === 'DataError') {
    return new InvalidArgumentError(
      'write',
      `could not be stored (${(error as Error).message}); nothing was written. Pass JSON values and string keys.`,
      { cause: error },
    );
  }
  return error;
}
