/**
 * The objects of a {@link RemoteStorage} chain and how a reader plans to fetch them. Object
 * formats only: no I/O here (see remote-storage.ts for the protocol).
 */
import type { Client, Uuid, Version } from '../contracts/storage.js';
import { ChainIntegrityError } from '../contracts/errors.js';
import { fromBase64 } from '../core/base64.js';
import { decodeJson, encodeJson } from './codec.js';

/**
 * A snapshot too big for one object, written in parts `s/<id>-0` … `s/<id>-<parts - 1>`: every
 * part but the last holds `partBytes` bytes, the last the rest. The parts are immutable and written
 * before the commit record that names them, so a record never names a part that was not written;
 * the sizes and the digest of the whole let a reader detect a part that is missing, replaced or
 * swapped.
 */
export interface SnapshotPartsJson {
  /** The committing transaction's write id (32 hex digits): names the parts. */
  readonly id: string;
  readonly parts: number;
  readonly partBytes: number;
  /** Size of the whole snapshot. */
  readonly bytes: number;
  /** SHA-256 of the whole snapshot, lowercase hex. */
  readonly sha256: string;
}

/**
 * Where a snapshot's data is: the name of one object under the client's directory (`s/<id>`, the
 * only form before snapshots had parts, still written when the data fits in one object, so earlier
 * releases read it), or its parts.
 */
export type SnapRef = string | SnapshotPartsJson;

/** A client's state after a commit. */
export interface StateJson {
  readonly client: Client;
  /** Where the current snapshot's data is, or null. */
  readonly snap: SnapRef | null;
}

/** A commit record `c/<n>`: immutable; claiming its name is the commit. */
export interface RecordJson {
  readonly f: 1;
  readonly n: number;
  /** Write id of the committing transaction (recognised on read-back after an indeterminate claim). */
  readonly w: string;
  readonly state: StateJson;
  readonly versions: ReadonlyArray<{ readonly id: Uuid; readonly parent: Uuid; readonly seg: string }>;
}

/**
 * Compaction's state (docs/compaction.md), kept in the `client` pointer: every pointer write keeps
 * it (merged with {@link mergeGc}), and only a compaction changes it.
 */
export interface GcJson {
  /**
   * Commits below it may be deleted: readers ignore them, and a committer whose claim lands below
   * it (a stale transaction claiming a name compaction freed) withdraws it.
   */
  readonly floor: number;
  /** Commits below it are deleted, with their indexes, packs and snapshots: compaction resumes here. */
  readonly swept: number;
  /**
   * Snapshots compactions have seen, oldest first: the commit holding the snapshot's version and the
   * snapshot's timestamp. Every commit up to `n` existed at time `t`, which bounds their age.
   */
  readonly marks: ReadonlyArray<{ readonly n: number; readonly t: number }>;
}

/** Compaction's state of a chain never compacted. */
export const NO_GC: GcJson = { floor: 1, swept: 1, marks: [] };

/** Most snapshot marks kept (a few months of snapshots at the default policy). */
export const MAX_MARKS = 16;

/**
 * The later of two compaction states: the higher floor and sweep, the union of the marks. Merging
 * is what lets two compactors (or a compactor and a committer) write the pointer in any order.
 */
export function mergeGc(a: GcJson, b: GcJson): GcJson {
  const marks = new Map<number, number>();
  for (const m of [...a.marks, ...b.marks]) marks.set(m.n, Math.min(m.t, marks.get(m.n) ?? m.t));
  return {
    floor: Math.max(a.floor, b.floor),
    swept: Math.max(a.swept, b.swept),
    marks: [...marks]
      .sort(([x], [y]) => x - y)
      .slice(-MAX_MARKS)
      .map(([n, t]) => ({ n, t })),
  };
}

/** Whether two compaction states are the same. */
export function sameGc(a: GcJson, b: GcJson): boolean {
  return (
    a.floor === b.floor &&
    a.swept === b.swept &&
    a.marks.length === b.marks.length &&
    a.marks.every((m, i) => m.n === b.marks[i]?.n && m.t === b.marks[i]?.t)
  );
}

/** The compaction state a pointer carries ({@link NO_GC} when none), checked. */
export function gcOf(pointer: PointerJson, name: string): GcJson {
  const gc = pointer.gc;
  if (gc === undefined) return NO_GC;
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
  if (
    gc === null ||
    !count(gc.floor) ||
    !count(gc.swept) ||
    gc.swept > gc.floor ||
    !Array.isArray(gc.marks) ||
    !gc.marks.every((m) => count(m?.n) && typeof m.t === 'number' && Number.isFinite(m.t))
  ) {
    throw new ChainIntegrityError(`${name} holds a compaction state in a form chainsync does not write.`);
  }
  return gc;
}

/** The `client` pointer: a cache of the state after commit `n`, moved forward by If-Match CAS. */
export interface PointerJson {
  readonly f: 1;
  readonly n: number;
  readonly state: StateJson;
  /** Compaction's state (absent before the chain's first compaction, and in earlier releases). */
  readonly gc?: GcJson;
}

/** Index objects `i/<versionId>` and `p/<parentVersionId>`: the commit holding that version. */
export interface IndexJson {
  readonly n: number;
}

/** A pack `k/<first>`: commit records first … first + PACK_SIZE - 1, copied verbatim. */
interface PackJson {
  readonly f: 1;
  readonly first: number;
  readonly records: readonly RecordJson[];
}

/**
 * Commits per pack. Part of the layout: every replica must look for the same names (a replica
 * using another size would only miss the packs and fall back to the commit records).
 */
export const PACK_SIZE = 64;

/**
 * A pack is read instead of single records when at least this many of its commits are wanted:
 * fewer are cheaper to fetch on their own than the whole pack's bytes.
 */
export const PACK_MIN_USE = 16;

export function recordName(dir: string, n: number): string {
  return `${dir}c/${n.toString().padStart(12, '0')}`;
}

export function packName(dir: string, first: number): string {
  return `${dir}k/${first.toString().padStart(12, '0')}`;
}

/** The first commit of the pack holding commit `n` (commits count from 1). */
export function packFirst(n: number): number {
  return Math.floor((n - 1) / PACK_SIZE) * PACK_SIZE + 1;
}

/** The commit numbers of pack `first`, in order. */
export function packCommits(first: number): number[] {
  return Array.from({ length: PACK_SIZE }, (_, i) => first + i);
}

/** A commit `n` whose pack it completes: its committer writes that pack. */
export function completesPack(n: number): boolean {
  return n % PACK_SIZE === 0;
}

export function decodeRecord(data: Uint8Array, name: string, n: number): RecordJson {
  const record = decodeJson<RecordJson>(data, name);
  assertRecord(record, name, n);
  return record;
}

function assertRecord(record: RecordJson, name: string, n: number): void {
  if (record?.f !== 1 || record.n !== n || !Array.isArray(record.versions)) {
    throw new ChainIntegrityError(`${name} is not commit record ${n} of a chainsync Storage.`);
  }
}

export function encodePack(first: number, records: readonly RecordJson[]): Uint8Array {
  return encodeJson({ f: 1, first, records } satisfies PackJson);
}

/** The records of pack `first`, checked to be exactly commits first … first + PACK_SIZE - 1. */
export function decodePack(data: Uint8Array, name: string, first: number): RecordJson[] {
  const pack = decodeJson<PackJson>(data, name);
  if (
    pack?.f !== 1 ||
    pack.first !== first ||
    !Array.isArray(pack.records) ||
    pack.records.length !== PACK_SIZE
  ) {
    throw new ChainIntegrityError(`${name} is not the pack of commits ${first} to ${first + PACK_SIZE - 1}.`);
  }
  pack.records.forEach((record, i) => assertRecord(record, `${name} (commit ${first + i})`, first + i));
  return [...pack.records];
}

/** What to download to read commits `from` … `to`: whole packs where enough is wanted, else records. */
export type FetchUnit =
  { readonly kind: 'pack'; readonly first: number } | { readonly kind: 'record'; readonly n: number };

/**
 * Plans the downloads of commits `from` … `to`, all known to exist (at most `upTo`, the highest
 * commit). Only complete packs (their last commit at most `upTo`) can exist.
 */
export function planFetch(from: number, to: number, upTo: number): FetchUnit[] {
  const units: FetchUnit[] = [];
  for (let n = from; n <= to;) {
    const first = packFirst(n);
    const last = first + PACK_SIZE - 1;
    const end = Math.min(to, last);
    if (last <= upTo && end - n + 1 >= PACK_MIN_USE) units.push({ kind: 'pack', first });
    else for (let k = n; k <= end; k++) units.push({ kind: 'record', n: k });
    n = end + 1;
  }
  return units;
}

/** The name of part `i` of a snapshot in parts. */
export function partName(dir: string, ref: SnapshotPartsJson, i: number): string {
  return `${dir}s/${ref.id}-${i}`;
}

/** The byte range of the whole snapshot that part `i` holds. */
export function partRange(
  ref: SnapshotPartsJson,
  i: number,
): { readonly start: number; readonly end: number } {
  const start = i * ref.partBytes;
  return { start, end: Math.min(ref.bytes, start + ref.partBytes) };
}

/** The parts descriptor for `bytes` bytes in parts of at most `partBytes`. */
export function snapshotParts(
  id: string,
  bytes: number,
  partBytes: number,
  sha256: string,
): SnapshotPartsJson {
  return { id, parts: Math.ceil(bytes / partBytes), partBytes, bytes, sha256 };
}

const isCount = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/**
 * Checks a parts descriptor read from a commit record: a foreign or damaged one would otherwise
 * make the reader ask for nonsense names or sizes.
 */
export function assertSnapshotParts(ref: SnapshotPartsJson, where: string): void {
  if (
    typeof ref.id !== 'string' ||
    !/^[0-9a-f]{32}$/.test(ref.id) ||
    typeof ref.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(ref.sha256) ||
    !isCount(ref.partBytes, 1) ||
    !isCount(ref.bytes, 0) ||
    !isCount(ref.parts, 1) ||
    ref.parts !== Math.max(1, Math.ceil(ref.bytes / ref.partBytes))
  ) {
    throw new ChainIntegrityError(`${where} names its snapshot's parts in a form chainsync does not write.`);
  }
}

/**
 * The longest JSON a commit record holding one version with an empty segment can take: every
 * number at the longest a non-negative JSON number can be (`Number.MAX_VALUE`, 23 characters),
 * every id at its fixed length, the snapshot named by a parts descriptor (longer than an object
 * name). A record's other content is fixed in size.
 */
const ONE_VERSION_RECORD_BYTES = (() => {
  const uuid = '00000000-0000-0000-0000-000000000000';
  const writeId = '0'.repeat(32);
  const big = Number.MAX_VALUE;
  const record: RecordJson = {
    f: 1,
    n: big,
    w: writeId,
    state: {
      client: { latestVersionId: uuid, snapshot: { versionId: uuid, timestamp: big, versionsSince: big } },
      snap: { id: writeId, parts: big, partBytes: big, bytes: big, sha256: '0'.repeat(64) },
    },
    versions: [{ id: uuid, parent: uuid, seg: '' }],
  };
  return encodeJson(record).length;
})();

/**
 * The largest history segment one version may carry when an object may hold `objectBytes` bytes:
 * the segment travels base64-encoded (4 characters per 3 bytes) inside its commit record, so what
 * the record leaves, in whole groups of 4 characters, times 3/4.
 */
export function maxSegmentBytes(objectBytes: number): number {
  return Math.max(0, Math.floor((objectBytes - ONE_VERSION_RECORD_BYTES) / 4) * 3);
}

/** The smallest object limit under which a version with a segment of at least 3 bytes fits. */
export const MIN_OBJECT_BYTES = ONE_VERSION_RECORD_BYTES + 4;

export function versionOf(v: RecordJson['versions'][number]): Version {
  return { versionId: v.id, parentVersionId: v.parent, historySegment: fromBase64(v.seg) };
}
