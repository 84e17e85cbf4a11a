/**
 * The objects of a {@link RemoteStorage} chain and how a reader plans to fetch them. Object
 * formats only: no I/O here (see remote-storage.ts for the protocol).
 */
import type { Client, Uuid, Version } from '../contracts/storage.js';
import { ChainIntegrityError } from '../contracts/errors.js';
import { fromBase64 } from '../core/base64.js';
import { decodeJson, encodeJson } from './codec.js';

/** A client's state after a commit. */
export interface StateJson {
  readonly client: Client;
  /** Name (under the client's directory) of the current snapshot's data, or null. */
  readonly snap: string | null;
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

/** The `client` pointer: a cache of the state after commit `n`, moved forward by If-Match CAS. */
export interface PointerJson {
  readonly f: 1;
  readonly n: number;
  readonly state: StateJson;
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

export function versionOf(v: RecordJson['versions'][number]): Version {
  return { versionId: v.id, parentVersionId: v.parent, historySegment: fromBase64(v.seg) };
}
