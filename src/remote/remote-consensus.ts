import type { CaSResult, Consensus, SeqNo, VersionedData } from '../contracts/consensus.js';
import { SCAN_ALL } from '../contracts/consensus.js';
import type { AtomicRemoteBackend, VersionedObject } from '../contracts/remote-backend.js';
import {
  ChainIntegrityError,
  NotFoundError,
  PreconditionFailedError,
  UnsupportedServerError,
} from '../contracts/errors.js';
import { fromBase64, toBase64 } from '../core/base64.js';
import { assertTruncateBound, validateCompareAndSet } from '../core/consensus-rules.js';
import { assertCount, assertKey, assertSeqNo } from '../core/validate.js';
import { decodeJson, encodeJson, newWriteId } from './codec.js';
import { decodeKeySegment, keySegment, objectRoot } from './object-keys.js';
import { RemoteIo, integerOption, mapLimit, type ReadBackVerdict, type RetryOptions } from './remote-io.js';
import {
  appendSeqNo,
  countSeqNos,
  hasSeqNo,
  keepFrom,
  seqNosFrom,
  type SeqNoRanges,
} from './seqno-ranges.js';

/** Options of {@link RemoteConsensus}. */
export interface RemoteConsensusOptions {
  /** Where this store keeps its objects in the bucket, e.g. `"myapp/consensus"`. */
  readonly prefix: string;
  /** Parallel downloads in `scan` (default 16). */
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
}

/** The head object of one key, as stored (JSON). */
interface HeadJson {
  readonly f: 1;
  /** The user key (hashed object names need it to be listed). */
  readonly k: string;
  /** Write id of the append that made the current head. */
  readonly w: string;
  /** Write id of the last truncate, or null. */
  readonly t: string | null;
  readonly seqno: string;
  readonly data: string;
  /** Live seqnos (head included) as `[first, last]` runs, in decimal. */
  readonly live: ReadonlyArray<readonly [string, string]>;
}

/** An immutable entry object: one version that is no longer the head. */
interface EntryJson {
  readonly f: 1;
  readonly w: string;
  readonly seqno: string;
  readonly data: string;
}

interface Head {
  readonly version: string;
  readonly json: HeadJson;
  readonly seqno: SeqNo;
  readonly live: SeqNoRanges;
}

/**
 * A {@link Consensus} kept in a remote bucket through any {@link AtomicRemoteBackend}. Per key:
 *
 * - `<prefix>/h/<key segment>`: the head object, changed only by `If-Match` compare-and-swap (or
 *   created with `If-None-Match: *`). It holds the head version's data inline and the set of live
 *   seqnos as runs (one run while seqnos are consecutive), so its CAS is the single commit point of
 *   an append or a truncate and scans need no LIST.
 * - `<prefix>/e/<key segment>/<seqno, 19 digits>`: an immutable copy of each earlier version.
 *   Before replacing a head, an appender copies it there (`If-None-Match: *`; the content is fixed
 *   by the committed head, so whoever copies first writes the same bytes). A lost race therefore
 *   never leaves a half-written entry occupying a seqno.
 *
 * `truncate` first commits the smaller live set in the head, then deletes the dropped entry
 * objects unconditionally: they are immutable and unreachable, so no conditional DELETE is needed.
 * `listKeys` needs LIST and throws UnsupportedServerError on a backend without it; every other
 * method works without LIST. (A key index object would have to be updated after the head is
 * created, leaving a crash window where a key exists but is not listed.)
 */
export class RemoteConsensus implements Consensus {
  readonly #io: RemoteIo;
  readonly #root: string;
  readonly #concurrency: number;

  constructor(backend: AtomicRemoteBackend, options: RemoteConsensusOptions) {
    this.#root = objectRoot(options?.prefix);
    this.#io = new RemoteIo(backend, options.retry);
    this.#concurrency = integerOption(options.concurrency, 'options.concurrency', 16, 1);
  }

  async listKeys(): Promise<string[]> {
    const backend = this.#io.backend;
    if (!backend.list) {
      throw new UnsupportedServerError(
        'This server cannot LIST objects, which listKeys() needs; the other Consensus methods work without it.',
        ['list'],
      );
    }
    const list = backend.list.bind(backend);
    const heads = this.#root + 'h/';
    const names = (await this.#io.idempotent(() => list(heads))).filter(
      (name) => !name.slice(heads.length).includes('/'),
    );
    const keys = await mapLimit(names, this.#concurrency, async (name) => {
      const direct = decodeKeySegment(name.slice(heads.length));
      if (direct !== null) return direct;
      const object = await this.#io.read(name);
      return object ? decodeHead(object, name).json.k : null;
    });
    return keys.filter((k): k is string => k !== null).sort();
  }

  async head(key: string): Promise<VersionedData | null> {
    assertKey(key);
    const head = await this.#readHead(key);
    return head && { seqno: head.seqno, data: fromBase64(head.json.data) };
  }

  async compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult> {
    validateCompareAndSet(key, expected, next);
    const name = await this.#headName(key);
    const writeId = newWriteId();
    const data = toBase64(next.data);
    for (;;) {
      const current = await this.#readHead(key);
      if ((current?.seqno ?? null) !== expected) return 'ExpectationMismatch';
      if (current) await this.#persistEntry(key, current);
      const json: HeadJson = {
        f: 1,
        k: key,
        w: writeId,
        t: current?.json.t ?? null,
        seqno: next.seqno.toString(),
        data,
        live: encodeRanges(appendSeqNo(current?.live ?? [], next.seqno)),
      };
      try {
        await this.#io.writeConditional(
          name,
          encodeJson(json),
          current ? { ifVersion: current.version } : { ifAbsent: true },
          (now) => this.#judgeAppend(key, name, now, writeId, next.seqno),
        );
        return 'Committed';
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        // Lost a race (or a truncate moved the head object): check the expectation again.
      }
    }
  }

  async scan(key: string, from: SeqNo, limit: number = SCAN_ALL): Promise<VersionedData[]> {
    assertKey(key);
    assertSeqNo(from, 'from');
    assertCount(limit, 'limit');
    let previous: string | null = null;
    for (;;) {
      const head = await this.#readHead(key);
      if (!head) return [];
      const seqnos = seqNosFrom(head.live, from, limit);
      const found = await mapLimit(seqnos, this.#concurrency, async (seqno) => {
        if (seqno === head.seqno) return { seqno, data: fromBase64(head.json.data) };
        const name = await this.#entryName(key, seqno);
        const object = await this.#io.read(name);
        return object && { seqno, data: fromBase64(decodeJson<EntryJson>(object.data, name).data) };
      });
      if (found.every((v) => v !== null)) return found as VersionedData[];
      // An entry vanished: a concurrent truncate, which changed the head. Unless it did not.
      if (previous === head.version) {
        throw new ChainIntegrityError(
          `Consensus key ${JSON.stringify(key)}: an entry the head lists as live is missing; was the bucket edited by hand?`,
        );
      }
      previous = head.version;
    }
  }

  async truncate(key: string, seqno: SeqNo): Promise<number> {
    assertKey(key);
    assertSeqNo(seqno);
    const name = await this.#headName(key);
    const truncateId = newWriteId();
    for (;;) {
      const head = await this.#readHead(key);
      if (!head) throw new NotFoundError(`Consensus key ${JSON.stringify(key)} has no data to truncate.`);
      assertTruncateBound(seqno, head.seqno);
      const kept = keepFrom(head.live, seqno);
      const deleted = countSeqNos(head.live) - countSeqNos(kept);
      if (deleted === 0n) return 0;
      const json: HeadJson = { ...head.json, t: truncateId, live: encodeRanges(kept) };
      try {
        // Appenders carry `t` forward, so a read-back finds our truncate even after later appends.
        await this.#io.writeConditional(name, encodeJson(json), { ifVersion: head.version }, (now) =>
          judgeTruncate(now && decodeHead(now, name), truncateId, seqno),
        );
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue;
        throw error;
      }
      const dropped = seqNosFrom(head.live, 0n, SCAN_ALL).filter((s) => s < seqno);
      await mapLimit(dropped, this.#concurrency, async (s) =>
        this.#io.deleteGarbage(await this.#entryName(key, s)),
      );
      return Number(deleted);
    }
  }

  async #headName(key: string): Promise<string> {
    return `${this.#root}h/${await keySegment(key)}`;
  }

  async #entryName(key: string, seqno: SeqNo): Promise<string> {
    return `${this.#root}e/${await keySegment(key)}/${seqno.toString().padStart(19, '0')}`;
  }

  async #readHead(key: string): Promise<Head | null> {
    const name = await this.#headName(key);
    const object = await this.#io.read(name);
    if (!object) return null;
    const head = decodeHead(object, name);
    if (head.json.k !== key) {
      throw new ChainIntegrityError(
        `${name} holds key ${JSON.stringify(head.json.k)}, not ${JSON.stringify(key)}.`,
      );
    }
    return head;
  }

  /** Copies the current head to its immutable entry object, so it survives being replaced. */
  async #persistEntry(key: string, head: Head): Promise<void> {
    const entry: EntryJson = { f: 1, w: head.json.w, seqno: head.json.seqno, data: head.json.data };
    await this.#io.createImmutable(await this.#entryName(key, head.seqno), encodeJson(entry));
  }

  /** After an indeterminate append: did ours land? The head or, once replaced, its entry tells. */
  async #judgeAppend(
    key: string,
    name: string,
    now: VersionedObject | null,
    writeId: string,
    seqno: SeqNo,
  ): Promise<ReadBackVerdict> {
    if (!now) return 'unknown';
    const head = decodeHead(now, name);
    if (head.json.w === writeId) return 'ours';
    if (head.seqno <= seqno) return 'not-ours'; // seqnos only grow: ours was never appended
    const entryName = await this.#entryName(key, seqno);
    const entry = await this.#io.read(entryName);
    if (entry) return decodeJson<EntryJson>(entry.data, entryName).w === writeId ? 'ours' : 'not-ours';
    // No entry: ours was never appended, unless a truncate since removed it (below the live set).
    if (hasSeqNo(head.live, seqno)) return 'unknown';
    const lowest = head.live[0]?.[0];
    return lowest !== undefined && seqno > lowest ? 'not-ours' : 'unknown';
  }
}

/**
 * After an indeterminate truncate below `seqno`: ours landed iff the head (or a later one, which
 * carries `t` forward) names it. It surely did not if a seqno it would have dropped is still live:
 * a dropped seqno never comes back (appends only add seqnos above the head).
 */
function judgeTruncate(head: Head | null, truncateId: string, seqno: SeqNo): ReadBackVerdict {
  if (!head) return 'unknown';
  if (head.json.t === truncateId) return 'ours';
  const lowest = head.live[0]?.[0];
  return lowest !== undefined && lowest < seqno ? 'not-ours' : 'unknown';
}

function decodeHead(object: VersionedObject, name: string): Head {
  const json = decodeJson<HeadJson>(object.data, name);
  if (json.f !== 1 || typeof json.seqno !== 'string' || !Array.isArray(json.live)) {
    throw new ChainIntegrityError(`${name} is not a chainsync Consensus head.`);
  }
  return {
    version: object.version,
    json,
    seqno: BigInt(json.seqno),
    live: json.live.map(([first, last]) => [BigInt(first), BigInt(last)] as const),
  };
}

function encodeRanges(ranges: SeqNoRanges): Array<[string, string]> {
  return ranges.map(([first, last]) => [first.toString(), last.toString()]);
}
