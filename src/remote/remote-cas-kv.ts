import type { CasKv, KvEntry, KvItem, KvWatcher, VersionToken } from '../contracts/cas-kv.js';
import type { Unsubscribe } from '../contracts/common.js';
import type { AtomicRemoteBackend, VersionedObject } from '../contracts/remote-backend.js';
import {
  AlreadyExistsError,
  ChainIntegrityError,
  PreconditionFailedError,
  RevisionMismatchError,
  UnsupportedServerError,
} from '../contracts/errors.js';
import { copyBytes, fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { KvWatchHub, changeOfWrite } from '../core/kv-watch.js';
import { assertBytes, assertKey, assertPrefix, assertToken } from '../core/validate.js';
import { newWriteId } from './codec.js';
import {
  HASHED_SEGMENT_MARK,
  decodeKeySegment,
  encodeKeyText,
  keySegment,
  objectRoot,
} from './object-keys.js';
import { RemoteIo, integerOption, mapLimit, type ReadBackVerdict, type RetryOptions } from './remote-io.js';

/** Options of {@link RemoteCasKv}. */
export interface RemoteCasKvOptions {
  /** Where this store keeps its objects in the bucket, e.g. `"myapp/kv"` (see `objectRoot`). */
  readonly prefix: string;
  /** Parallel downloads in `keys`/`scan` (default 16). */
  readonly concurrency?: number;
  readonly retry?: RetryOptions;
}

const FORMAT = 1;
/** Write ids of the predecessors each object records, newest first. */
const HISTORY = 8;
const ID_BYTES = 16;
const KEY_LENGTH_AT = 2 + ID_BYTES * (1 + HISTORY);
const HEADER = KEY_LENGTH_AT + 4;
/** Stands for "absent" in a history: the object was created from nothing. */
const NO_WRITE = '0'.repeat(32);
/** Keys whose last seen version is remembered (oldest forgotten first). */
const KNOWN_LIMIT = 1000;

/** What an object holds: a live value, a `deleteWithVersion` tombstone, or the mark of a `delete`. */
const enum Kind {
  Value = 1,
  Tombstone = 2,
  /** Written by `delete`: reads as absent everywhere, `entry` included. */
  Erased = 3,
}

interface Change<T> {
  readonly kind: Kind;
  readonly value: Uint8Array;
  /** What the operation returns once the change is written. */
  readonly result: T;
}

interface Stored {
  readonly version: string;
  readonly kind: Kind;
  readonly writeId: string;
  /** Write ids of the writes before this one, newest first, padded with NO_WRITE. */
  readonly history: readonly string[];
  readonly key: string;
  readonly value: Uint8Array;
}

/**
 * A {@link CasKv} kept in a remote bucket through any {@link AtomicRemoteBackend}: one object per
 * key, `<prefix>/k/<key segment>` (key encoding in `object-keys.ts`).
 *
 * - Every object carries a fresh random 128-bit write id; the {@link VersionToken} is that write id,
 *   not the server's ETag, so tokens are unique per write (no ABA) on every server, including S3-style
 *   servers whose ETag is an MD5 of the content. The unique id also makes every payload, and hence
 *   every ETag, distinct.
 * - Every write is a compare-and-swap on the object's ETag (`If-Match`, or `If-None-Match: *` when
 *   absent), retried on a lost race where the operation allows it (`put`, `delete`). The instance
 *   remembers the version it last saw per key, so a write following a read or write of the same
 *   key is one request; a refusal is always decided on a fresh read.
 * - `deleteWithVersion` and any write of an empty value (seed 001's logical delete) write a
 *   tombstone object; `delete` writes an "erased" mark that reads as absent. Neither uses DELETE,
 *   whose `If-Match` some servers ignore (Ceph), so correctness never depends on a conditional
 *   delete. Marks stay behind as small objects. A tombstone is not an
 *   empty object: it carries its write id like any write, because an empty body has the same
 *   MD5 ETag every time on S3-style servers, which would bring back ABA.
 * - Each payload also records the write ids of the 8 writes before it, so an indeterminate write is
 *   resolved by reading back even after other writes landed on top: ours is in the history (applied),
 *   or the write that followed the version we replaced is someone else's (not applied, since only
 *   one write can follow a version). Only when more than 8 writes landed before the read-back is the
 *   `IndeterminateRemoteError` passed on to the caller; it is never resolved by a blind retry.
 * - `keys`, `scan` and the initial listing of `watch` need LIST: on a backend without `list` they
 *   throw UnsupportedServerError. Everything else works without LIST. (An index object maintained by
 *   CAS would turn every write into two and make one object the hot spot of the whole store.)
 * - `watch` lists the current values, then delivers the changes made through this instance only;
 *   writes by other clients of the same bucket are not observed.
 */
export class RemoteCasKv implements CasKv {
  readonly #io: RemoteIo;
  readonly #root: string;
  readonly #concurrency: number;
  readonly #hub = new KvWatchHub();
  readonly #known = new Map<string, Stored>();

  constructor(backend: AtomicRemoteBackend, options: RemoteCasKvOptions) {
    this.#root = objectRoot(options?.prefix) + 'k/';
    this.#io = new RemoteIo(backend, options.retry);
    this.#concurrency = integerOption(options.concurrency, 'options.concurrency', 16, 1);
  }

  async get(key: string): Promise<KvEntry | null> {
    assertKey(key);
    const stored = await this.#read(key);
    return stored?.kind === Kind.Value ? entryOf(stored) : null;
  }

  async entry(key: string): Promise<KvEntry | null> {
    assertKey(key);
    const stored = await this.#read(key);
    return stored && stored.kind !== Kind.Erased ? entryOf(stored) : null;
  }

  async keys(prefix = ''): Promise<string[]> {
    return (await this.scan(prefix)).map((item) => item.key);
  }

  async scan(prefix = ''): Promise<KvItem[]> {
    assertPrefix(prefix);
    const backend = this.#io.backend;
    if (!backend.list) {
      throw new UnsupportedServerError(
        'This server cannot LIST objects, which keys(), scan() and watch() need. get/put/update/delete work without it.',
        ['list'],
      );
    }
    const list = backend.list.bind(backend);
    const names = new Set(await this.#io.idempotent(() => list(this.#root + encodeKeyText(prefix))));
    if (prefix !== '') {
      for (const name of await this.#io.idempotent(() => list(this.#root + HASHED_SEGMENT_MARK)))
        names.add(name);
    }
    const candidates = [...names].filter((name) => {
      const segment = name.slice(this.#root.length);
      if (segment.includes('/')) return false; // another store nested below this prefix
      const key = decodeKeySegment(segment);
      return key === null ? segment.startsWith(HASHED_SEGMENT_MARK) : key.startsWith(prefix);
    });
    const stored = await mapLimit(candidates, this.#concurrency, async (name) => {
      const object = await this.#io.read(name);
      return object && decode(object, name);
    });
    const items: KvItem[] = [];
    for (const s of stored) {
      if (s?.kind === Kind.Value && s.key.startsWith(prefix)) items.push({ key: s.key, ...entryOf(s) });
    }
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async watch(prefix: string, watcher: KvWatcher): Promise<Unsubscribe> {
    assertPrefix(prefix);
    return this.#hub.watch(prefix, watcher, (p) => this.scan(p));
  }

  async put(key: string, value: Uint8Array): Promise<VersionToken> {
    assertKey(key);
    assertBytes(value, 'value');
    return (await this.#writeValue(key, value, () => null)).writeId;
  }

  async create(key: string, value: Uint8Array): Promise<VersionToken> {
    assertKey(key);
    assertBytes(value, 'value');
    const outcome = await this.#writeValue(key, value, (current) => {
      if (current?.kind === Kind.Value) {
        throw new AlreadyExistsError(
          `Key ${JSON.stringify(key)} already has a value; use update() to change it.`,
        );
      }
      return null;
    });
    return outcome.writeId;
  }

  async update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken> {
    assertKey(key);
    assertBytes(value, 'value');
    assertToken(expected, 'expected');
    return (await this.#writeValue(key, value, (current) => expectVersion(key, current, expected))).writeId;
  }

  async delete(key: string): Promise<boolean> {
    assertKey(key);
    const outcome = await this.#mutate(key, (current) =>
      !current || current.kind === Kind.Erased
        ? null
        : { kind: Kind.Erased, value: new Uint8Array(0), result: current.kind === Kind.Value },
    );
    if (!outcome) return false;
    this.#hub.emit({ type: 'delete', key, version: null });
    return outcome.result;
  }

  async deleteWithVersion(key: string, expected: VersionToken): Promise<boolean> {
    assertKey(key);
    assertToken(expected, 'expected');
    // The logical delete: the tombstone that update(key, empty, expected) writes.
    const empty = new Uint8Array(0);
    return (await this.#writeValue(key, empty, (current) => expectVersion(key, current, expected))).result;
  }

  /**
   * Writes `value` as the key's next version once `check` (which may refuse by throwing) passes on
   * the current object, and tells the watchers. An empty value is seed 001's logical delete: it is
   * stored as a tombstone, the same object `deleteWithVersion` writes.
   */
  async #writeValue<T>(
    key: string,
    value: Uint8Array,
    check: (current: Stored | null) => T,
  ): Promise<{ writeId: string; result: T }> {
    const stored = copyBytes(value);
    const kind = stored.length === 0 ? Kind.Tombstone : Kind.Value;
    const outcome = await this.#write(key, (current) => ({ kind, value: stored, result: check(current) }));
    this.#hub.emit(changeOfWrite(key, copyBytes(stored), outcome.writeId));
    return outcome;
  }

  async #objectKey(key: string): Promise<string> {
    return this.#root + (await keySegment(key));
  }

  async #read(key: string): Promise<Stored | null> {
    const name = await this.#objectKey(key);
    const object = await this.#io.read(name);
    const stored = object && decode(object, name, key);
    this.#remember(key, stored);
    return stored;
  }

  /**
   * Notes the object last seen under `key` (without its value), so the next write can try its
   * compare-and-swap at once instead of reading first. Safe because the CAS itself checks the
   * version; a refusal (mismatch, already exists, nothing to delete) is only ever decided on a
   * fresh read.
   */
  #remember(key: string, stored: Stored | null): void {
    this.#known.delete(key);
    if (!stored) return;
    this.#known.set(key, { ...stored, value: new Uint8Array(0) });
    if (this.#known.size > KNOWN_LIMIT) {
      for (const oldest of this.#known.keys()) {
        this.#known.delete(oldest);
        break;
      }
    }
  }

  /** {@link RemoteCasKv.#mutate} for a `decide` that always writes. */
  async #write<T>(
    key: string,
    decide: (current: Stored | null) => Change<T>,
  ): Promise<{ writeId: string; result: T }> {
    const outcome = await this.#mutate(key, decide);
    if (!outcome) throw new Error('unreachable: decide always asks for a write');
    return outcome;
  }

  /**
   * One compare-and-swap write decided by `decide` from the current object; re-read and re-decided
   * after every lost race. `decide` returns `null` to write nothing, or throws to refuse.
   */
  async #mutate<T>(
    key: string,
    decide: (current: Stored | null) => Change<T> | null,
  ): Promise<{ writeId: string; result: T } | null> {
    const name = await this.#objectKey(key);
    const writeId = newWriteId();
    let current: Stored | null | undefined = this.#known.get(key);
    for (;;) {
      const remembered = current !== undefined;
      if (current === undefined) current = await this.#read(key);
      let change: Change<T> | null;
      try {
        change = decide(current);
      } catch (error) {
        if (!remembered) throw error;
        current = undefined; // refuse only on a fresh read
        continue;
      }
      if (!change) {
        if (!remembered) return null;
        current = undefined;
        continue;
      }
      const base: Stored | null = current;
      const history = base ? [base.writeId, ...base.history] : [NO_WRITE];
      const payload = encode(change.kind, writeId, history, key, change.value);
      let exact = true;
      try {
        const version = await this.#io.writeConditional(
          name,
          payload,
          base ? { ifVersion: base.version } : { ifAbsent: true },
          (now) => {
            const seen = now && decode(now, name, key);
            exact = seen?.writeId === writeId;
            return judge(seen, writeId, base?.writeId ?? NO_WRITE);
          },
        );
        // After a read-back that found our write under later ones, `version` is not ours.
        const mine = { version, kind: change.kind, writeId, history: history.slice(0, HISTORY), key };
        this.#remember(key, exact ? { ...mine, value: change.value } : null);
        return { writeId, result: change.result };
      } catch (error) {
        this.#remember(key, null);
        if (!(error instanceof PreconditionFailedError)) throw error;
        current = undefined; // lost a race: decide again from what won
      }
    }
  }
}

/** Checks `expected` against the current object; returns whether it holds a live value. */
function expectVersion(key: string, current: Stored | null, expected: VersionToken): boolean {
  if (!current || current.kind === Kind.Erased || current.writeId !== expected) {
    throw new RevisionMismatchError(
      `Key ${JSON.stringify(key)} is ${current && current.kind !== Kind.Erased ? 'at another version' : 'absent'}; read it again and retry.`,
    );
  }
  return current.kind === Kind.Value;
}

function entryOf(stored: Stored): KvEntry {
  return {
    value: stored.kind === Kind.Value ? copyBytes(stored.value) : new Uint8Array(0),
    version: stored.writeId,
  };
}

/**
 * After an indeterminate write from `base`: ours was applied iff it is the current write or in its
 * history. Only one write can ever succeed from `base` (each is conditional on it), so if the
 * history shows base's successor and it is another write, ours was definitely not applied.
 */
function judge(seen: Stored | null, writeId: string, base: string): ReadBackVerdict {
  if (!seen) return 'unknown';
  const chain = [seen.writeId, ...seen.history];
  if (chain.includes(writeId)) return 'ours';
  return chain.indexOf(base) >= 1 ? 'not-ours' : 'unknown';
}

function encode(
  kind: Kind,
  writeId: string,
  history: readonly string[],
  key: string,
  value: Uint8Array,
): Uint8Array {
  const keyBytes = utf8(key);
  const out = new Uint8Array(HEADER + keyBytes.length + value.length);
  out[0] = FORMAT;
  out[1] = kind;
  out.set(hexBytes(writeId), 2);
  for (let i = 0; i < HISTORY; i++) out.set(hexBytes(history[i] ?? NO_WRITE), 2 + ID_BYTES * (1 + i));
  new DataView(out.buffer).setUint32(KEY_LENGTH_AT, keyBytes.length);
  out.set(keyBytes, HEADER);
  out.set(value, HEADER + keyBytes.length);
  return out;
}

function decode(object: VersionedObject, name: string, expectedKey?: string): Stored {
  const data = object.data;
  const keyLength =
    data.length >= HEADER ? new DataView(data.buffer, data.byteOffset).getUint32(KEY_LENGTH_AT) : -1;
  const kind = data[1] as Kind;
  if (
    data[0] !== FORMAT ||
    ![Kind.Value, Kind.Tombstone, Kind.Erased].includes(kind) ||
    keyLength < 0 ||
    HEADER + keyLength > data.length
  ) {
    throw new ChainIntegrityError(
      `${name} is not a chainsync CasKv object; is another program writing under this prefix?`,
    );
  }
  const key = fromUtf8(data.subarray(HEADER, HEADER + keyLength));
  if (expectedKey !== undefined && key !== expectedKey) {
    throw new ChainIntegrityError(
      `${name} holds key ${JSON.stringify(key)}, not ${JSON.stringify(expectedKey)}.`,
    );
  }
  return {
    version: object.version,
    kind,
    writeId: toHex(data.subarray(2, 2 + ID_BYTES)),
    history: Array.from({ length: HISTORY }, (_, i) =>
      toHex(data.subarray(2 + ID_BYTES * (1 + i), 2 + ID_BYTES * (2 + i))),
    ),
    key,
    value: data.slice(HEADER + keyLength),
  };
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
