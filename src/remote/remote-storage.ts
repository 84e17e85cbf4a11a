import type { AtomicRemoteBackend, ObjectVersion } from '../contracts/remote-backend.js';
import type { Client, Storage, StorageTxn, Uuid, Version } from '../contracts/storage.js';
import {
  ChainIntegrityError,
  PreconditionFailedError,
  TransactionConflictError,
} from '../contracts/errors.js';
import {
  OptimisticStorageTxn,
  type ClientRecord,
  type StorageAccess,
  type StorageWrites,
} from '../core/optimistic-storage-txn.js';
import { decodeJson, encodeJson, fromBase64, newWriteId, toBase64 } from './codec.js';
import { objectRoot } from './object-keys.js';
import { RemoteIo, integerOption, mapLimit, type RetryOptions } from './remote-io.js';

/** Options of {@link RemoteStorage}. */
export interface RemoteStorageOptions {
  /** Where this store keeps its objects in the bucket, e.g. `"myapp/chain"`. */
  readonly prefix: string;
  /** Parallel downloads when catching up (`getVersionsAfter`), default 16. */
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
}

/** A client's state after a commit. */
interface StateJson {
  readonly client: Client;
  /** Name (under the client's directory) of the current snapshot's data, or null. */
  readonly snap: string | null;
}

/** A commit record `c/<n>`: immutable; claiming its name is the commit. */
interface RecordJson {
  readonly f: 1;
  readonly n: number;
  /** Write id of the committing transaction (recognised on read-back after an indeterminate claim). */
  readonly w: string;
  readonly state: StateJson;
  readonly versions: ReadonlyArray<{ readonly id: Uuid; readonly parent: Uuid; readonly seg: string }>;
}

/** The `client` pointer: a cache of the state after commit `n`, moved forward by If-Match CAS. */
interface PointerJson {
  readonly f: 1;
  readonly n: number;
  readonly state: StateJson;
}

/** Index objects `i/<versionId>` and `p/<parentVersionId>`: the commit holding that version. */
interface IndexJson {
  readonly n: number;
}

/** What a transaction remembers of the client it read: the commit number is the revision. */
interface Revision {
  readonly n: number;
  readonly snap: string | null;
  /** The pointer object as read, to move it forward by CAS. */
  readonly pointer: { readonly version: ObjectVersion; readonly n: number } | null;
}

interface Current {
  readonly n: number;
  readonly state: StateJson;
  readonly pointer: Revision['pointer'];
}

/**
 * A {@link Storage} kept in a remote bucket through any {@link AtomicRemoteBackend}, with the
 * transaction logic of {@link OptimisticStorageTxn}. It never lists: every object it reads has a
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
 *
 * `getVersionsAfter` resolves the parent to its commit once and then downloads the following
 * commits in parallel (`concurrency` at a time), so catching up 1,000 versions costs about
 * 1,000 / concurrency round trips instead of 1,000.
 */
export class RemoteStorage implements Storage {
  readonly #io: RemoteIo;
  readonly #root: string;
  readonly #concurrency: number;
  /** Highest commit this instance has seen per client (only a hint of where to probe). */
  readonly #lastSeen = new Map<Uuid, number>();

  constructor(backend: AtomicRemoteBackend, options: RemoteStorageOptions) {
    this.#root = objectRoot(options?.prefix);
    this.#io = new RemoteIo(backend, options.retry);
    this.#concurrency = integerOption(options.concurrency, 'options.concurrency', 16, 1);
  }

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.#accessFor(), clientId);
  }

  /**
   * One transaction's view: reads see the commits up to the one its first read of the client found
   * (snapshot isolation). A version someone else committed since stays invisible: this transaction
   * can no longer commit anyway (its commit name is taken), and without the cut-off its checks
   * would report that version's effects (say, "parent already has a child") instead of the
   * TRANSACTION_CONFLICT a caller retries on.
   */
  #accessFor(): StorageAccess<Revision> {
    let seen: { n: number; snap: string | null; latest: Uuid | null } | null = null;
    const upTo = () => seen?.n ?? 0;
    return {
      readClient: async (clientId) => {
        const record = await this.#readClient(clientId);
        // The transaction keeps the first read as its base; so does its view.
        seen ??= {
          n: record?.revision.n ?? 0,
          snap: record?.revision.snap ?? null,
          latest: record?.client.latestVersionId ?? null,
        };
        return record;
      },
      readVersion: (clientId, versionId) =>
        this.#readIndexed(clientId, 'i', versionId, upTo(), (v) => v.id === versionId),
      readVersionByParent: async (clientId, parentId) =>
        // The latest version has no child in this view (a child would have become the latest):
        // answered without a request, which saves addVersion a round trip.
        parentId === seen?.latest
          ? null
          : this.#readIndexed(clientId, 'p', parentId, upTo(), (v) => v.parent === parentId),
      readVersionsAfter: (clientId, parentId, limit) =>
        this.#readVersionsAfter(clientId, parentId, limit, upTo()),
      readSnapshotData: async (clientId) => {
        const snap = seen?.snap;
        if (!snap) return null;
        const name = this.#dir(clientId) + snap;
        return this.#io.idempotent(() => this.#io.backend.download(name));
      },
      apply: (clientId, base, writes) => this.#apply(clientId, base, writes),
    };
  }

  #dir(clientId: Uuid): string {
    return `${this.#root}${clientId}/`;
  }

  #recordName(clientId: Uuid, n: number): string {
    return `${this.#dir(clientId)}c/${n.toString().padStart(12, '0')}`;
  }

  async #readRecord(clientId: Uuid, n: number): Promise<RecordJson | null> {
    const name = this.#recordName(clientId, n);
    const object = await this.#io.read(name);
    if (!object) return null;
    const record = decodeJson<RecordJson>(object.data, name);
    if (record.f !== 1 || record.n !== n || !Array.isArray(record.versions)) {
      throw new ChainIntegrityError(`${name} is not commit record ${n} of a chainsync Storage.`);
    }
    return record;
  }

  /** The committed state: the pointer, rolled forward over any commit it does not show yet. */
  async #current(clientId: Uuid): Promise<Current | null> {
    const pointerName = this.#dir(clientId) + 'client';
    // Probe the commit after the last one this instance saw while reading the pointer: when the
    // pointer is current (the usual case) the state is known after one round trip, not two.
    const guess = this.#lastSeen.get(clientId);
    const [object, early] = await Promise.all([
      this.#io.read(pointerName),
      guess === undefined ? undefined : this.#readRecord(clientId, guess + 1),
    ]);
    const pointerJson = object && decodeJson<PointerJson>(object.data, pointerName);
    const pointer = object && pointerJson ? { version: object.version, n: pointerJson.n } : null;
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
    const name = this.#dir(clientId) + 'client';
    const json = encodeJson({ f: 1, n: current.n, state: current.state } satisfies PointerJson);
    let pointer = current.pointer;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (pointer && pointer.n >= current.n) return pointer;
      try {
        const version = await this.#io.backend.uploadConditional(
          name,
          json,
          pointer ? { ifVersion: pointer.version } : { ifAbsent: true },
        );
        return { version, n: current.n };
      } catch {
        const object = await this.#io.read(name).catch(() => null);
        if (!object) return null;
        pointer = { version: object.version, n: decodeJson<PointerJson>(object.data, name).n };
      }
    }
    return pointer;
  }

  async #readIndexed(
    clientId: Uuid,
    kind: 'i' | 'p',
    id: Uuid,
    upTo: number,
    match: (v: RecordJson['versions'][number]) => boolean,
  ): Promise<Version | null> {
    const n = await this.#indexedCommit(clientId, kind, id);
    const record = n === null || n > upTo ? null : await this.#readRecord(clientId, n);
    const found = record?.versions.find(match);
    return found ? versionOf(found) : null;
  }

  async #indexedCommit(clientId: Uuid, kind: 'i' | 'p', id: Uuid): Promise<number | null> {
    const name = `${this.#dir(clientId)}${kind}/${id}`;
    const object = await this.#io.read(name);
    return object ? decodeJson<IndexJson>(object.data, name).n : null;
  }

  async #readVersionsAfter(clientId: Uuid, parentId: Uuid, limit: number, upTo: number): Promise<Version[]> {
    const out: Version[] = [];
    if (limit === 0) return out;
    const first = await this.#indexedCommit(clientId, 'p', parentId);
    if (first === null || first > upTo) return out;
    let found = false;
    for (let next = first; out.length < limit && next <= upTo;) {
      // The commits are known to exist up to `upTo`: fetch them in parallel batches.
      const batch = Math.min(this.#concurrency, upTo - next + 1, limit - out.length);
      const numbers = Array.from({ length: batch }, (_, i) => next + i);
      const records = await mapLimit(numbers, this.#concurrency, (n) => this.#readRecord(clientId, n));
      for (const record of records) {
        if (!record) return out;
        for (const v of record.versions) {
          if (!found && v.parent !== parentId) continue;
          found = true;
          if (out.length < limit) out.push(versionOf(v));
        }
      }
      next += batch;
    }
    return out;
  }

  async #apply(clientId: Uuid, base: ClientRecord<Revision> | null, writes: StorageWrites): Promise<void> {
    const dir = this.#dir(clientId);
    const n = (base?.revision.n ?? 0) + 1;
    const writeId = newWriteId();
    let snap = base?.revision.snap ?? null;
    if (writes.snapshot) {
      snap = `s/${writeId}`;
      await this.#io.createImmutable(dir + snap, writes.snapshot.data);
    }
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
    const name = this.#recordName(clientId, n);
    try {
      await this.#io.writeConditional(name, encodeJson(record), { ifAbsent: true }, (now) =>
        now && decodeJson<RecordJson>(now.data, name).w === writeId ? 'ours' : 'not-ours',
      );
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      if (writes.snapshot && snap) await this.#io.deleteGarbage(dir + snap);
      throw new TransactionConflictError(
        `Client ${clientId} changed since this transaction read it; nothing was applied. Retry in a new transaction.`,
        { cause: error },
      );
    }
    // Committed. What follows only saves later readers work; if it fails, they repair it.
    this.#lastSeen.set(clientId, Math.max(n, this.#lastSeen.get(clientId) ?? 0));
    try {
      await this.#writeIndexes(clientId, record);
      await this.#movePointer(clientId, { n, state, pointer: base?.revision.pointer ?? null });
    } catch {
      // The next reader rolls forward from the pointer and rewrites the missing indexes.
    }
  }
}

function versionOf(v: RecordJson['versions'][number]): Version {
  return { versionId: v.id, parentVersionId: v.parent, historySegment: fromBase64(v.seg) };
}
