import { assertCompactionPolicy, assertTimestamp, assertUuid, isPositiveInteger } from '../core/validate.js';
import type { AtomicRemoteBackend, ObjectVersion } from '../contracts/remote-backend.js';
import type {
  CompactionOptions,
  CompactionReport,
  SnapshotPartRead,
  Storage,
  StorageLimits,
  StorageTxn,
  Uuid,
  Version,
} from '../contracts/storage.js';
import { DEFAULT_KEEP_DAYS } from '../contracts/storage.js';
import {
  ChainIntegrityError,
  IndeterminateRemoteError,
  PreconditionFailedError,
  TransactionConflictError,
} from '../contracts/errors.js';
import { toBase64 } from '../core/base64.js';
import { contentIdOf } from '../core/content-id.js';
import {
  OptimisticStorageTxn,
  type ClientRecord,
  type StorageAccess,
  type StorageWrites,
} from '../core/optimistic-storage-txn.js';
import { decodeJson, encodeJson, newWriteId } from './codec.js';
import { objectRoot } from './object-keys.js';
import { RemoteIo, integerOption, mapLimit, type RetryOptions } from './remote-io.js';
import {
  assertSnapshotParts,
  completesPack,
  decodePack,
  decodeRecord,
  encodePack,
  gcOf,
  mergeGc,
  NO_GC,
  sameGc,
  type GcJson,
  maxSegmentBytes,
  MIN_OBJECT_BYTES,
  PACK_SIZE,
  packCommits,
  packFirst,
  packName,
  partName,
  partRange,
  planFetch,
  recordName,
  snapshotParts,
  versionOf,
  type IndexJson,
  type PointerJson,
  type RecordJson,
  type SnapRef,
  type SnapshotPartsJson,
  type StateJson,
} from './storage-layout.js';

/** Options of {@link RemoteStorage}. */
export interface RemoteStorageOptions {
  /** Where this store keeps its objects in the bucket, e.g. `"myapp/chain"`. */
  readonly prefix: string;
  /** Parallel downloads when catching up (`getVersionsAfter`), default 16. */
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
  /**
   * The largest object the server accepts, in bytes, when the backend does not state it (see
   * `AtomicRemoteBackend.maxObjectBytes`); with both, the smaller applies. Snapshots larger than
   * that are written in parts, and {@link RemoteStorage.limits} derives the largest version from it.
   */
  readonly maxObjectBytes?: number;
}

/** The `client` pointer as read: its version (to move it by CAS), its commit and compaction state. */
interface PointerView {
  readonly version: ObjectVersion;
  readonly n: number;
  readonly gc: GcJson;
}

/** Default `keepCommits` of {@link RemoteStorage.compact}. */
export const DEFAULT_KEEP_COMMITS = 1000;
/** Default `keepDays` of {@link RemoteStorage.compact} (defined with the contract: blob GC shares it). */
export { DEFAULT_KEEP_DAYS };
/** Default `maxDeletes` of {@link RemoteStorage.compact}. */
export const DEFAULT_MAX_DELETES = 256;

const DAY_MS = 86_400_000;

/** What a transaction remembers of the client it read: the commit number is the revision. */
interface Revision {
  readonly n: number;
  readonly snap: SnapRef | null;
  /** The pointer object as read, to move it forward by CAS. */
  readonly pointer: PointerView | null;
}

/** What one transaction's reads of consecutive pages share: records fetched ahead, where it stopped. */
interface PageView {
  readonly records: Map<number, RecordJson>;
  last: { readonly versionId: Uuid; readonly n: number } | null;
  /** The commit holding the child of a parent, as counting found it (the first page starts there). */
  child: { readonly parentId: Uuid; readonly n: number | null } | null;
}

/** Commit records kept for building packs (a little over one pack's worth). */
const RECENT_RECORDS = 2 * PACK_SIZE;

interface Current {
  readonly n: number;
  readonly state: StateJson;
  readonly pointer: Revision['pointer'];
}

/** Pointer versions {@link RemoteStorage.pointerVersions} keeps per client. */
const POINTER_VERSIONS_KEPT = 16;

/**
 * A {@link Storage} kept in a remote bucket through any {@link AtomicRemoteBackend}, with the
 * transaction logic of `OptimisticStorageTxn` (src/core). It never lists: every object it reads has a
 * name it can compute. Under `<prefix>/<clientId>/`:
 *
 * - `c/<n, 12 digits>`: commit record n (JSON: the client's state after it, the versions it added
 *   with their segments, the committer's write id). Created with `If-None-Match: *`, never changed.
 *   **Claiming `c/<n+1>` is the commit** of a transaction that read state n, whatever it changes
 *   (new client, versions, snapshot). Two transactions that read the same state race for the same
 *   name and exactly one wins; the other gets TRANSACTION_CONFLICT. A lost race leaves nothing in a
 *   slot, so there are no orphans. (Versus one slot per version: a snapshot-only commit would not
 *   conflict with a version commit, and the client record would need a second commit point.)
 * - `client`: a pointer (n and the state after commit n) moved forward with `If-Match` CAS after
 *   each commit. It only saves probing: the true state is the highest record, found by probing
 *   `c/<pointer.n + 1>`, … — so a committer that crashed before moving it is rolled forward by the
 *   next reader (which also writes the missing index objects first).
 * - `i/<versionId>`, `p/<parentVersionId>`: immutable index objects naming the commit that holds a
 *   version, for getVersion / getVersionByParent in two round trips. Written after the claim and
 *   before the pointer moves, so every commit at or below the pointer is fully indexed.
 * - `s/<writeId>`: snapshot data, immutable, uploaded before the claim under a name no other
 *   transaction uses (a snapshot of the same version may differ in bytes, e.g. when encrypted).
 *   A snapshot bigger than one object may be (see {@link RemoteStorageOptions.maxObjectBytes}) is
 *   written as parts `s/<writeId>-<i>` instead, all before the claim, and the record names them
 *   with their sizes and the SHA-256 of the whole: the claim commits every part at once.
 *
 * - `k/<first, 12 digits>`: a pack, the `PACK_SIZE` (64) commit records `first` … `first + 63`
 *   copied into one immutable object. The committer of a pack's last commit writes it (from the
 *   records it remembers); a reader that had to download a whole pack's records one by one writes
 *   it too. Packs only save requests: a missing pack is read record by record.
 *
 * `getVersionsAfter` resolves the parent to its commit once (a transaction paging on needs no
 * lookup) and then downloads the following commits in parallel (`concurrency` at a time), whole
 * packs where a quarter or more of their commits are wanted: catching up 1,000
 * one-version commits costs about 16 pack and 40 record downloads, not 1,000.
 */
export class RemoteStorage implements Storage {
  readonly #io: RemoteIo;
  readonly #root: string;
  readonly #concurrency: number;
  readonly #maxObjectBytes: number | null;
  /** Highest commit this instance has seen per client (only a hint of where to probe). */
  readonly #lastSeen = new Map<Uuid, number>();
  /** Each client's pointer versions this instance last read or wrote, newest last (pointerVersions). */
  readonly #pointerSeen = new Map<Uuid, ObjectVersion[]>();
  /** Recently read or written commit records, `<clientId>/<n>`, oldest first. */
  readonly #recent = new Map<string, RecordJson>();

  constructor(backend: AtomicRemoteBackend, options: RemoteStorageOptions) {
    this.#root = objectRoot(options?.prefix);
    this.#io = new RemoteIo(backend, options.retry);
    this.#concurrency = integerOption(options.concurrency, 'options.concurrency', 16, 1);
    this.#maxObjectBytes =
      options.maxObjectBytes === undefined
        ? null
        : integerOption(options.maxObjectBytes, 'options.maxObjectBytes', 0, MIN_OBJECT_BYTES);
  }

  /**
   * The largest segment one version may carry: what is left of an object once the rest of a
   * one-version commit record is accounted for (the record is the object a version travels in). Null when neither the backend nor the options state an object limit. The sync
   * engine commits one version per commit record; a caller that adds several in one transaction
   * must keep their segments together under this. Packs of 64 records may exceed the limit: they
   * are only a shortcut, and are then not written.
   */
  async limits(): Promise<StorageLimits> {
    const room = await this.#room();
    return { maxSegmentBytes: room === null ? null : maxSegmentBytes(room) };
  }

  /** The bytes one object may hold (the backend deducts its own framing), or null when no limit is known. */
  async #room(): Promise<number | null> {
    const stated = await this.#io.backend.maxObjectBytes?.();
    const known = [stated, this.#maxObjectBytes].filter(isPositiveInteger);
    return known.length === 0 ? null : Math.min(...known);
  }

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.#accessFor(), clientId);
  }

  /**
   * Compacts `clientId`'s chain (docs/compaction.md): raises the floor to the commits that are
   * both more than `keepCommits` behind the one holding the snapshot's version and older than
   * `keepDays`, then deletes up to `maxDeletes` objects below it, oldest commit first — for each
   * commit, the snapshots only commits below the floor name, its `i`/`p` indexes, the record, and
   * the packs it completes. Only immutable objects are deleted (never the pointer), so no delete
   * races a writer; deleting is idempotent, so a call cut off half way is finished by the next,
   * from this or any replica, and two at once do no harm.
   */
  async compact(clientId: Uuid, options: CompactionOptions = {}): Promise<CompactionReport> {
    assertUuid(clientId, 'clientId');
    assertCompactionPolicy(options, 'options');
    const keepCommits = options.keepCommits ?? DEFAULT_KEEP_COMMITS;
    const keepDays = options.keepDays ?? DEFAULT_KEEP_DAYS;
    const maxDeletes = options.maxDeletes ?? DEFAULT_MAX_DELETES;
    const now = options.now ?? Date.now();
    assertTimestamp(now, 'options.now');
    const current = await this.#current(clientId);
    if (!current) return { floor: NO_GC.floor, swept: NO_GC.swept, deleted: 0, more: false };
    let gc = current.pointer?.gc ?? NO_GC;
    const snapshot = current.state.client.snapshot;
    const held = snapshot && (await this.#indexedCommit(clientId, 'i', snapshot.versionId));
    if (snapshot && held) {
      // Every commit up to `held` existed when the snapshot was taken: a mark of their age.
      const marked = mergeGc(gc, { ...gc, marks: [{ n: held, t: snapshot.timestamp }] });
      const old = marked.marks.filter((m) => m.t <= now - keepDays * DAY_MS).map((m) => m.n);
      const below = Math.min(held - keepCommits, Math.max(0, ...old));
      gc = await this.#updateGc(clientId, current, { ...marked, floor: Math.max(marked.floor, below + 1) });
    }
    const { swept, deleted } = await this.#sweep(clientId, current, gc, maxDeletes);
    if (swept > gc.swept) gc = await this.#updateGc(clientId, current, { ...gc, swept });
    const retainedFrom = await this.#retainedFrom(clientId, current, gc.floor);
    return {
      floor: gc.floor,
      swept: gc.swept,
      deleted,
      more: gc.swept < gc.floor,
      ...(retainedFrom === undefined ? {} : { retainedFrom }),
    };
  }

  /**
   * The parent of the first version at or above `floor`, for remote blob GC (docs/compaction.md):
   * usually one read (a commit holding only a snapshot has no version: the next one is read).
   * The head's latest version when none is above the floor; undefined when a record is unreadable.
   */
  async #retainedFrom(clientId: Uuid, current: Current, floor: number): Promise<Uuid | undefined> {
    for (let n = floor; n <= current.n; n++) {
      const record = await this.#readRecord(clientId, n);
      if (!record) return undefined;
      const first = record.versions[0];
      if (first) return first.parent;
    }
    return current.state.client.latestVersionId;
  }

  /**
   * Writes `next` (merged with what the pointer holds) into the pointer by CAS, moving the pointer
   * up to `current` as well: a reader must never have to roll forward over deleted commits.
   * Returns the compaction state as written.
   */
  async #updateGc(clientId: Uuid, current: Current, next: GcJson): Promise<GcJson> {
    const name = this.#dir(clientId) + 'client';
    for (let attempt = 0; ; attempt++) {
      const object = await this.#io.read(name);
      const json = object ? decodeJson<PointerJson>(object.data, name) : null;
      const held = json ? gcOf(json, name) : NO_GC;
      const gc = mergeGc(held, next);
      if (json && json.n >= current.n && sameGc(gc, held)) return gc;
      const ahead = json && json.n >= current.n;
      const pointer: PointerJson = {
        f: 1,
        n: ahead ? json.n : current.n,
        state: ahead ? json.state : current.state,
        gc,
      };
      try {
        await this.#io.backend.uploadConditional(
          name,
          encodeJson(pointer),
          object ? { ifVersion: object.version } : { ifAbsent: true },
        );
        return gc;
      } catch (error) {
        // Another writer moved the pointer: merge with what it wrote and try again.
        if (!(error instanceof PreconditionFailedError) || attempt >= 8) throw error;
      }
    }
  }

  /**
   * Deletes commits from `gc.swept` up to the floor, at most `maxDeletes` objects, whole commits at
   * a time (at least one). Returns where it stopped.
   */
  async #sweep(
    clientId: Uuid,
    current: Current,
    gc: GcJson,
    maxDeletes: number,
  ): Promise<{ swept: number; deleted: number }> {
    const dir = this.#dir(clientId);
    const end = Math.min(gc.floor, gc.swept + maxDeletes);
    if (end <= gc.swept) return { swept: gc.swept, deleted: 0 };
    // The snapshots named at the floor and at the head stay: commits that remain name them.
    const atFloor = await this.#readRecord(clientId, gc.floor);
    const keep = new Set([current.state.snap, atFloor?.state.snap].map(snapKey));
    const snapshots = new Map<string, string[]>();
    const indexes: string[] = [];
    const objects: string[] = [];
    let planned = 0;
    let stop = gc.swept;
    for (let full = false; !full && stop < end;) {
      // A one-version commit costs 3 deletes (record, i/, p/): read about as many as the budget allows.
      const count = Math.min(end - stop, Math.max(1, Math.ceil((maxDeletes - planned) / 3)));
      const numbers = Array.from({ length: count }, (_, i) => stop + i);
      const records = await mapLimit(numbers, this.#concurrency, (n) => this.#readRecord(clientId, n));
      for (const [i, n] of numbers.entries()) {
        const record = records[i] ?? null;
        const snap = record?.state.snap ?? null;
        const key = snapKey(snap);
        const snapNames =
          snap && key && !keep.has(key) && !snapshots.has(key) ? snapshotNames(dir, snap) : [];
        const indexNames = (record?.versions ?? []).flatMap((v) => [
          `${dir}i/${v.id}`,
          `${dir}p/${v.parent}`,
        ]);
        const own = [recordName(dir, n), ...(completesPack(n) ? [packName(dir, packFirst(n))] : [])];
        const cost = snapNames.length + indexNames.length + own.length;
        if (n > gc.swept && planned + cost > maxDeletes) {
          full = true;
          break;
        }
        if (key && snapNames.length > 0) snapshots.set(key, snapNames);
        indexes.push(...indexNames);
        objects.push(...own);
        planned += cost;
        stop = n + 1;
      }
    }
    // In this order, so a run cut off anywhere leaves what the next run needs to find the rest:
    // the records (read again) until their snapshots and indexes are gone.
    const remove = (names: string[]) =>
      mapLimit(names, this.#concurrency, (name) => this.#io.idempotent(() => this.#io.backend.delete(name)));
    const snapshotObjects = [...snapshots.values()].flat();
    await remove(snapshotObjects);
    await remove(indexes);
    await remove(objects);
    return { swept: stop, deleted: snapshotObjects.length + indexes.length + objects.length };
  }

  /**
   * One transaction's view: reads see the commits up to the one its first read of the client found
   * (snapshot isolation). A version someone else committed since stays invisible: this transaction
   * can no longer commit anyway (its commit name is taken), and without the cut-off its checks
   * would report that version's effects (say, "parent already has a child") instead of the
   * TRANSACTION_CONFLICT a caller retries on.
   */
  #accessFor(): StorageAccess<Revision> {
    let seen: { n: number; snap: SnapRef | null; latest: Uuid | null; floor: number } | null = null;
    const upTo = () => seen?.n ?? 0;
    // Commits below the compaction floor are (being) deleted: this view holds none of them.
    const floor = () => seen?.floor ?? NO_GC.floor;
    const pages: PageView = { records: new Map(), last: null, child: null };
    return {
      readClient: async (clientId) => {
        const record = await this.#readClient(clientId);
        // The transaction keeps the first read as its base; so does its view.
        seen ??= {
          n: record?.revision.n ?? 0,
          snap: record?.revision.snap ?? null,
          latest: record?.client.latestVersionId ?? null,
          floor: record?.revision.pointer?.gc.floor ?? NO_GC.floor,
        };
        return record;
      },
      readVersion: (clientId, versionId) =>
        this.#readIndexed(clientId, 'i', versionId, upTo(), floor(), (v) => v.id === versionId),
      readVersionByParent: async (clientId, parentId) =>
        // The latest version has no child in this view (a child would have become the latest):
        // answered without a request, which saves addVersion a round trip.
        parentId === seen?.latest
          ? null
          : this.#readIndexed(clientId, 'p', parentId, upTo(), floor(), (v) => v.parent === parentId),
      readVersionsAfter: (clientId, parentId, limit) =>
        this.#readVersionsAfter(clientId, parentId, limit, upTo(), floor(), pages),
      countVersionsAfter: (clientId, parentId) =>
        this.#countVersionsAfter(clientId, parentId, upTo(), floor(), pages),
      readSnapshotData: async (clientId, _versionId, onPart) => {
        const snap = seen?.snap;
        return snap ? this.#readSnapshot(this.#dir(clientId), snap, seen?.n ?? 0, onPart) : null;
      },
      apply: (clientId, base, writes) => this.#apply(clientId, base, writes),
    };
  }

  #dir(clientId: Uuid): string {
    return `${this.#root}${clientId}/`;
  }

  /**
   * The versions of `clientId`'s pointer this instance read or wrote lately (the last 16, newest
   * last). Its own syncs move the pointer, some more than once (a commit, then a snapshot's): a
   * watcher that sees one of these after a sync succeeded sees what that sync saw or did, not
   * another device's change.
   */
  pointerVersions(clientId: Uuid): readonly ObjectVersion[] {
    return this.#pointerSeen.get(clientId) ?? [];
  }

  #sawPointer(clientId: Uuid, version: ObjectVersion): void {
    const seen = this.#pointerSeen.get(clientId) ?? [];
    if (seen.at(-1) === version) return;
    seen.push(version);
    if (seen.length > POINTER_VERSIONS_KEPT) seen.shift();
    this.#pointerSeen.set(clientId, seen);
  }

  /**
   * The key of client `clientId`'s pointer (`client`): the one object of its chain that changes
   * in place, moved after every commit, so the object live sync watches (docs/live-sync.md).
   */
  pointerKey(clientId: Uuid): string {
    return this.#dir(clientId) + 'client';
  }

  /** Where `clientId`'s version index objects (`i/<versionId>`, one per version kept) are named. */
  versionIndexPrefix(clientId: Uuid): string {
    return this.#dir(clientId) + 'i/';
  }

  async #readRecord(clientId: Uuid, n: number): Promise<RecordJson | null> {
    const name = recordName(this.#dir(clientId), n);
    const object = await this.#io.read(name);
    if (!object) return null;
    const record = decodeRecord(object.data, name, n);
    this.#remember(clientId, record);
    return record;
  }

  /** Keeps a commit record for the pack it may complete (records are immutable: a copy stays true). */
  #remember(clientId: Uuid, record: RecordJson): void {
    const key = `${clientId}/${record.n}`;
    this.#recent.delete(key);
    this.#recent.set(key, record);
    for (const oldest of this.#recent.keys()) {
      if (this.#recent.size <= RECENT_RECORDS) break;
      this.#recent.delete(oldest);
    }
  }

  /** The records of pack `first`, or null when the pack has not been written. */
  async #readPack(clientId: Uuid, first: number): Promise<RecordJson[] | null> {
    const name = packName(this.#dir(clientId), first);
    const object = await this.#io.read(name);
    return object && decodePack(object.data, name, first);
  }

  /**
   * Writes pack `first` from `records` (all of its commits, in order). Best effort; skipped when
   * the pack is bigger than an object may be (its records are read one by one instead).
   */
  async #writePack(clientId: Uuid, first: number, records: readonly RecordJson[]): Promise<void> {
    const pack = encodePack(first, records);
    const room = await this.#room();
    if (room !== null && pack.length > room) return;
    await this.#io.createImmutable(packName(this.#dir(clientId), first), pack);
  }

  /**
   * Uploads a snapshot's data before the commit that names it: one object `s/<writeId>` when it
   * fits (the format earlier releases read), else parts of at most one object's room each. If an
   * upload fails, the parts already written are deleted: the record naming them was never sent.
   */
  async #writeSnapshot(dir: string, writeId: string, data: Uint8Array): Promise<SnapRef> {
    const room = await this.#room();
    if (room === null || data.length <= room) {
      const name = `s/${writeId}`;
      await this.#io.createImmutable(dir + name, data);
      return name;
    }
    const ref = snapshotParts(writeId, data.length, room, await contentIdOf(data));
    try {
      await mapLimit(partIndexes(ref), this.#concurrency, async (i) => {
        const { start, end } = partRange(ref, i);
        await this.#io.createImmutable(partName(dir, ref, i), data.subarray(start, end));
      });
    } catch (error) {
      await this.#deleteSnapshot(dir, ref);
      throw error;
    }
    return ref;
  }

  /** Deletes a snapshot's objects that no commit record names (best effort). */
  async #deleteSnapshot(dir: string, ref: SnapRef): Promise<void> {
    await mapLimit(snapshotNames(dir, ref), this.#concurrency, (name) => this.#io.deleteGarbage(name));
  }

  /**
   * A snapshot's data: its one object (null when absent, as before parts existed), or its parts
   * downloaded in parallel and checked against the sizes and digest commit `n` names.
   */
  async #readSnapshot(
    dir: string,
    ref: SnapRef,
    n: number,
    onPart?: SnapshotPartRead,
  ): Promise<Uint8Array | null> {
    if (typeof ref === 'string') {
      const name = dir + ref;
      return this.#io.idempotent(() => this.#io.backend.download(name));
    }
    const where = recordName(dir, n);
    assertSnapshotParts(ref, where);
    let data: Uint8Array;
    try {
      data = new Uint8Array(ref.bytes);
    } catch (error) {
      // A damaged or hostile record: the size it names cannot even be held in memory.
      throw new ChainIntegrityError(
        `${where} names a snapshot of ${ref.bytes} bytes, more than this device can hold.`,
        { cause: error },
      );
    }
    await mapLimit(partIndexes(ref), this.#concurrency, async (i) => {
      const name = partName(dir, ref, i);
      const part = await this.#io.idempotent(() => this.#io.backend.download(name));
      const { start, end } = partRange(ref, i);
      if (!part) {
        throw new ChainIntegrityError(
          `${name} is missing: it is part ${i + 1} of ${ref.parts} of the snapshot ${where} names (parts are written before that record, so it was deleted since). The snapshot cannot be read until a newer one replaces it.`,
        );
      }
      if (part.length !== end - start) {
        throw new ChainIntegrityError(
          `${name} holds ${part.length} bytes, not the ${end - start} ${where} names for part ${i + 1} of ${ref.parts} of its snapshot: the part was replaced or damaged.`,
        );
      }
      data.set(part, start);
      onPart?.(part.length, { parts: ref.parts, bytes: ref.bytes });
    });
    if ((await contentIdOf(data)) !== ref.sha256) {
      throw new ChainIntegrityError(
        `The ${ref.parts} parts of the snapshot ${where} names (${partName(dir, ref, 0)} …) do not match its SHA-256 digest: a part was replaced, swapped or damaged.`,
      );
    }
    return data;
  }

  /**
   * Writes pack `first` after its last commit: from the records this instance remembers (a
   * committer usually read or wrote them all), downloading the rest.
   */
  async #packCommitted(clientId: Uuid, first: number): Promise<void> {
    const records = await mapLimit(
      packCommits(first),
      this.#concurrency,
      async (n) => this.#recent.get(`${clientId}/${n}`) ?? (await this.#readRecord(clientId, n)),
    );
    if (records.every((r) => r !== null)) await this.#writePack(clientId, first, records);
  }

  /**
   * Commits `from` … `to` (all at most `upTo`, so they exist), from `cache` or downloaded: whole
   * packs where enough of one is wanted, single records otherwise and where a pack is missing.
   * A reader that had to fetch a whole pack's records one by one writes the pack for the next.
   */
  async #readCommits(
    clientId: Uuid,
    from: number,
    to: number,
    upTo: number,
    cache: Map<number, RecordJson>,
  ): Promise<Array<RecordJson | null>> {
    const wanted = (first: number) => {
      const out: number[] = [];
      for (let n = Math.max(from, first); n <= Math.min(to, first + PACK_SIZE - 1); n++) {
        if (!cache.has(n)) out.push(n);
      }
      return out;
    };
    const units = planFetch(from, to, upTo).filter((u) =>
      u.kind === 'record' ? !cache.has(u.n) : wanted(u.first).length > 0,
    );
    const missingPacks: number[] = [];
    const readRecord = async (n: number) => {
      const record = await this.#readRecord(clientId, n);
      if (record) cache.set(n, record);
    };
    await mapLimit(units, this.#concurrency, async (unit) => {
      if (unit.kind === 'record') return readRecord(unit.n);
      const records = await this.#readPack(clientId, unit.first);
      if (!records) return void missingPacks.push(unit.first);
      records.forEach((record) => cache.set(record.n, record));
    });
    if (missingPacks.length > 0) {
      // Mostly wanted anyway: fetch the pack's other few commits too, so it can be written.
      const fetch = (first: number) => {
        const all = packCommits(first).filter((n) => !cache.has(n));
        const need = wanted(first);
        return all.length - need.length <= PACK_SIZE / 4 ? all : need;
      };
      await mapLimit(missingPacks.flatMap(fetch), this.#concurrency, readRecord);
      for (const first of missingPacks) {
        const records = packCommits(first).map((n) => cache.get(n));
        if (records.every((r) => r !== undefined)) {
          await this.#writePack(clientId, first, records).catch(() => undefined);
        }
      }
    }
    return Array.from({ length: to - from + 1 }, (_, i) => cache.get(from + i) ?? null);
  }

  /** The committed state: the pointer, rolled forward over any commit it does not show yet. */
  async #current(clientId: Uuid): Promise<Current | null> {
    const pointerName = this.pointerKey(clientId);
    // Probe the commit after the last one this instance saw while reading the pointer: when the
    // pointer is current (the usual case) the state is known after one round trip, not two.
    const guess = this.#lastSeen.get(clientId);
    const [object, early] = await Promise.all([
      this.#io.read(pointerName),
      guess === undefined ? undefined : this.#readRecord(clientId, guess + 1),
    ]);
    const pointer = object && this.#pointerView(object.data, object.version, pointerName);
    const pointerJson = pointer && decodeJson<PointerJson>(object.data, pointerName);
    if (object) this.#sawPointer(clientId, object.version);
    let n = pointerJson?.n ?? 0;
    let state = pointerJson?.state ?? null;
    const rolled: RecordJson[] = [];
    let next = early !== undefined && guess === n ? early : await this.#readRecord(clientId, n + 1);
    while (next) {
      rolled.push(next);
      n = next.n;
      state = next.state;
      next = await this.#readRecord(clientId, n + 1);
    }
    this.#lastSeen.set(clientId, Math.max(n, guess ?? 0));
    if (!state) return null;
    let current: Current = { n, state, pointer };
    if (rolled.length > 0) {
      // Repair what a committer left undone: indexes first, so the pointer never passes a commit
      // whose versions cannot be found by id.
      for (const record of rolled) await this.#writeIndexes(clientId, record);
      current = { ...current, pointer: await this.#movePointer(clientId, current) };
    }
    return current;
  }

  async #readClient(clientId: Uuid): Promise<ClientRecord<Revision> | null> {
    const current = await this.#current(clientId);
    return (
      current && {
        client: current.state.client,
        revision: { n: current.n, snap: current.state.snap, pointer: current.pointer },
      }
    );
  }

  async #writeIndexes(clientId: Uuid, record: RecordJson): Promise<void> {
    const dir = this.#dir(clientId);
    const index = encodeJson({ n: record.n } satisfies IndexJson);
    await mapLimit(
      record.versions.flatMap((v) => [`${dir}i/${v.id}`, `${dir}p/${v.parent}`]),
      this.#concurrency,
      (name) => this.#io.createImmutable(name, index),
    );
  }

  /**
   * Moves the pointer up to `current` by CAS; best effort (a stale pointer only costs the next
   * reader a probe). Returns the pointer as left, if known.
   */
  async #movePointer(clientId: Uuid, current: Current): Promise<Revision['pointer']> {
    const name = this.pointerKey(clientId);
    let pointer = current.pointer;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (pointer && pointer.n >= current.n) return pointer;
      // The compaction state travels on unchanged: only a compaction changes it.
      const gc = pointer?.gc ?? NO_GC;
      const json: PointerJson = {
        f: 1,
        n: current.n,
        state: current.state,
        ...(sameGc(gc, NO_GC) ? {} : { gc }),
      };
      try {
        const version = await this.#io.backend.uploadConditional(
          name,
          encodeJson(json),
          pointer ? { ifVersion: pointer.version } : { ifAbsent: true },
        );
        this.#sawPointer(clientId, version);
        return { version, n: current.n, gc };
      } catch {
        const object = await this.#io.read(name).catch(() => null);
        if (!object) return null;
        this.#sawPointer(clientId, object.version);
        pointer = this.#pointerView(object.data, object.version, name);
      }
    }
    return pointer;
  }

  /** The pointer object `data` (at `version`), checked. */
  #pointerView(data: Uint8Array, version: ObjectVersion, name: string): PointerView {
    const json = decodeJson<PointerJson>(data, name);
    return { version, n: json.n, gc: gcOf(json, name) };
  }

  async #readIndexed(
    clientId: Uuid,
    kind: 'i' | 'p',
    id: Uuid,
    upTo: number,
    floor: number,
    match: (v: RecordJson['versions'][number]) => boolean,
  ): Promise<Version | null> {
    const n = await this.#indexedCommit(clientId, kind, id);
    const record = n === null || n > upTo || n < floor ? null : await this.#readRecord(clientId, n);
    const found = record?.versions.find(match);
    return found ? versionOf(found) : null;
  }

  async #indexedCommit(clientId: Uuid, kind: 'i' | 'p', id: Uuid): Promise<number | null> {
    const name = `${this.#dir(clientId)}${kind}/${id}`;
    const object = await this.#io.read(name);
    return object ? decodeJson<IndexJson>(object.data, name).n : null;
  }

  /**
   * The commits from the one holding `parentId`'s child up to `upTo`: one version each as the sync
   * engine commits them (a snapshot's commit holds none, so this may count more). The commit found
   * is kept for the first page's read: counting costs no request more.
   */
  async #countVersionsAfter(
    clientId: Uuid,
    parentId: Uuid,
    upTo: number,
    floor: number,
    view: PageView,
  ): Promise<number> {
    const n = await this.#childCommit(clientId, parentId, view);
    // Below the compaction floor the versions are (being) deleted: none to read, as in #readVersionsAfter.
    return n === null || n > upTo || n < floor ? 0 : upTo - n + 1;
  }

  /** The commit holding `parentId`'s child (`null`: none indexed), looked up once per transaction. */
  async #childCommit(clientId: Uuid, parentId: Uuid, view: PageView): Promise<number | null> {
    if (view.child?.parentId === parentId) return view.child.n;
    const n = await this.#indexedCommit(clientId, 'p', parentId);
    view.child = { parentId, n };
    return n;
  }

  async #readVersionsAfter(
    clientId: Uuid,
    parentId: Uuid,
    limit: number,
    upTo: number,
    floor: number,
    view: PageView,
  ): Promise<Version[]> {
    const out: Version[] = [];
    if (limit === 0) return out;
    // Paging on from the last call: its last version's commit is known (and still cached).
    const first =
      view.last?.versionId === parentId ? view.last.n : await this.#childCommit(clientId, parentId, view);
    if (first === null || first > upTo || first < floor) return out;
    let found = false;
    let lastN = first;
    for (let next = first; out.length < limit && next <= upTo;) {
      // One commit more than the versions still wanted: the first may hold nothing after the parent.
      const to = Math.min(upTo, next + (limit - out.length));
      const records = await this.#readCommits(clientId, next, to, upTo, view.records);
      for (const record of records) {
        if (!record) return out; // a known commit is gone: the caller sees a chain that ends here
        for (const v of record.versions) {
          if (!found && v.parent !== parentId) continue;
          found = true;
          if (out.length >= limit) break;
          out.push(versionOf(v));
          lastN = record.n;
        }
      }
      next = to + 1;
    }
    for (const n of view.records.keys()) if (n < lastN) view.records.delete(n);
    const tail = out.at(-1);
    if (tail) view.last = { versionId: tail.versionId, n: lastN };
    return out;
  }

  async #apply(clientId: Uuid, base: ClientRecord<Revision> | null, writes: StorageWrites): Promise<void> {
    const dir = this.#dir(clientId);
    const n = (base?.revision.n ?? 0) + 1;
    const writeId = newWriteId();
    const snap = writes.snapshot
      ? await this.#writeSnapshot(dir, writeId, writes.snapshot.data)
      : (base?.revision.snap ?? null);
    const state: StateJson = { client: writes.client, snap };
    const record: RecordJson = {
      f: 1,
      n,
      w: writeId,
      state,
      versions: writes.versions.map((v) => ({
        id: v.versionId,
        parent: v.parentVersionId,
        seg: toBase64(v.historySegment),
      })),
    };
    const name = recordName(dir, n);
    try {
      await this.#io.writeConditional(name, encodeJson(record), { ifAbsent: true }, (now) =>
        now && decodeJson<RecordJson>(now.data, name).w === writeId ? 'ours' : 'not-ours',
      );
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      // Certain the record did not land: nothing can ever name this snapshot's objects.
      if (writes.snapshot && snap) await this.#deleteSnapshot(dir, snap);
      throw new TransactionConflictError(
        `Client ${clientId} changed since this transaction read it; nothing was applied. Retry in a new transaction.`,
        { cause: error },
      );
    }
    // Committed. What follows only saves later readers work; if it fails, they repair it.
    this.#lastSeen.set(clientId, Math.max(n, this.#lastSeen.get(clientId) ?? 0));
    this.#remember(clientId, record);
    const from = base?.revision.pointer ?? null;
    let left: Revision['pointer'] | undefined;
    try {
      await this.#writeIndexes(clientId, record);
      left = await this.#movePointer(clientId, { n, state, pointer: from });
      if (completesPack(n)) await this.#packCommitted(clientId, packFirst(n));
    } catch {
      // The next reader rolls forward from the pointer and rewrites the missing indexes.
    }
    await this.#refuseBelowFloor(clientId, record, left, writes.snapshot ? snap : null);
  }

  /**
   * A transaction that read the chain before a compaction freed the name it then claims commits
   * nothing real: its record sits below the floor, where readers look no more. Its pointer CAS
   * fails (the compaction moved the pointer) and the pointer is read again, so a committer learns
   * the floor at no extra request (a CAS that succeeds carries the floor it read, below `n`)
   * and withdraws: its record, the indexes naming it and its snapshot's objects are deleted (best
   * effort; readers ignore them anyway) and the commit fails with TRANSACTION_CONFLICT. When the
   * pointer moved and could not be read, whether the commit counts is unknown: REMOTE_INDETERMINATE
   * (a reader resolves it: a version below the floor is not found).
   */
  async #refuseBelowFloor(
    clientId: Uuid,
    record: RecordJson,
    left: Revision['pointer'] | undefined,
    snap: SnapRef | null,
  ): Promise<void> {
    const { n } = record;
    if (!left) {
      // The pointer moved and could not be read: read it once more before judging.
      const name = this.#dir(clientId) + 'client';
      let object: Awaited<ReturnType<RemoteIo['read']>>;
      try {
        object = await this.#io.read(name);
      } catch (error) {
        throw new IndeterminateRemoteError(
          `Commit ${n} of client ${clientId} was written, but the client pointer could not be read to confirm it lies above the compaction floor. Read the version back to know whether it counts.`,
          { cause: error },
        );
      }
      if (!object) return; // no pointer: a chain never compacted
      left = this.#pointerView(object.data, object.version, name);
    }
    if (n >= left.gc.floor) return;
    const dir = this.#dir(clientId);
    const mine = async (kind: 'i' | 'p', id: Uuid) => {
      const name = `${dir}${kind}/${id}`;
      if ((await this.#indexedCommit(clientId, kind, id).catch(() => null)) === n)
        await this.#io.deleteGarbage(name);
    };
    await mapLimit(
      record.versions.flatMap((v) => [() => mine('i', v.id), () => mine('p', v.parent)]),
      this.#concurrency,
      (task) => task(),
    );
    await this.#io.deleteGarbage(recordName(dir, n));
    if (snap) await this.#deleteSnapshot(dir, snap);
    throw new TransactionConflictError(
      `Client ${clientId} was compacted since this transaction read it (its commit ${n} lies below the compaction floor ${left.gc.floor}); nothing was applied. Retry in a new transaction.`,
    );
  }
}

/** The objects holding the snapshot `ref` names. */
function snapshotNames(dir: string, ref: SnapRef): string[] {
  return typeof ref === 'string' ? [dir + ref] : partIndexes(ref).map((i) => partName(dir, ref, i));
}

/** One key per snapshot a record may name (`null` for none). */
function snapKey(ref: SnapRef | null | undefined): string | null {
  return ref === null || ref === undefined ? null : typeof ref === 'string' ? ref : `parts:${ref.id}`;
}

/** 0 … parts - 1. */
function partIndexes(ref: SnapshotPartsJson): number[] {
  return Array.from({ length: ref.parts }, (_, i) => i);
}
