import type {
  BatchCasKv,
  KvChange,
  KvEntry,
  KvItem,
  KvOp,
  KvOpResult,
  KvWatcher,
  VersionToken,
} from '../../src/contracts/cas-kv.js';
import type { Unsubscribe } from '../../src/contracts/common.js';
import { AlreadyExistsError, RevisionMismatchError } from '../../src/contracts/errors.js';
import { copyBytes } from '../../src/core/bytes.js';
import { KvWatchHub, changeOfWrite } from '../../src/core/kv-watch.js';
import { Subscribable } from '../../src/core/subscribable.js';
import { uniqueTokens } from '../../src/core/unique.js';
import { assertKvOps, assertKey, assertPrefix } from '../../src/core/validate.js';
import { unwrap } from 'idb';
import { quiet, type IdbConnection, type WriteTx } from './connection.js';
import type { KvRecord } from './schema.js';

/**
 * Tells the instances (tabs, workers) of one store which CasKv keys changed. It carries keys, not
 * values: a receiver that has watchers re-reads those keys from IndexedDB, so what it delivers is
 * the committed state however late or out of order the announcement arrives, and a 10,000-write
 * batch costs other tabs nothing when nobody watches.
 */
export interface KvChangeFeed {
  /** Announces keys this instance wrote. */
  publish(keys: Iterable<string>): void;
  /** Receives the keys other instances wrote. */
  subscribe(receiver: (keys: readonly string[]) => void): Unsubscribe;
  close(): void;
}

type KvTx = WriteTx<'kv'[]>;

/**
 * {@link CasKv} on IndexedDB: every write is one readwrite transaction. Changes are delivered to
 * local watchers after the commit and published on `feed`, from which other instances' changes
 * arrive too.
 */
export class IdbCasKv implements BatchCasKv {
  readonly #db: IdbConnection;
  readonly #hub = new KvWatchHub();
  readonly #nextVersion = uniqueTokens();
  readonly #feed: KvChangeFeed | undefined;
  readonly #listeners = new Subscribable<readonly KvChange[]>('chainsync: a change listener threw');

  constructor(db: IdbConnection, feed?: KvChangeFeed) {
    this.#db = db;
    this.#feed = feed;
    feed?.subscribe((keys) => {
      this.#refreshing = this.#refreshing.then(() => this.#refresh(keys));
    });
  }

  /** Serializes refreshes, so a later read's changes are never delivered before an earlier one's. */
  #refreshing = Promise.resolve();

  /**
   * Calls `listener` with every batch of committed changes, this instance's and (through the feed)
   * other instances', in the order they arrive. Lets a worker forward changes in one message each.
   */
  onChanges(listener: (changes: readonly KvChange[]) => void): Unsubscribe {
    return this.#listeners.subscribe(listener);
  }

  async get(key: string): Promise<KvEntry | null> {
    const entry = await this.entry(key);
    return entry && entry.value.length > 0 ? entry : null;
  }

  async entry(key: string): Promise<KvEntry | null> {
    assertKey(key);
    const record = await this.#db.read(['kv'], (tx) => tx.objectStore('kv').get(key));
    return record ? { value: record.value, version: record.version } : null;
  }

  async keys(prefix = ''): Promise<string[]> {
    return (await this.scan(prefix)).map((item) => item.key);
  }

  async scan(prefix = ''): Promise<KvItem[]> {
    assertPrefix(prefix);
    return this.#db.read(['kv'], async (tx) => {
      const items: KvItem[] = [];
      let cursor = await tx.objectStore('kv').openCursor(IDBKeyRange.lowerBound(prefix));
      while (cursor && (cursor.key as string).startsWith(prefix)) {
        const record = cursor.value;
        if (record.value.length > 0) {
          items.push({ key: cursor.key as string, value: record.value, version: record.version });
        }
        cursor = await cursor.continue();
      }
      return items;
    });
  }

  async watch(prefix: string, watcher: KvWatcher): Promise<Unsubscribe> {
    return this.#hub.watch(prefix, watcher, (p) => this.scan(p));
  }

  async put(key: string, value: Uint8Array): Promise<VersionToken> {
    return (await this.batch([{ op: 'put', key, value }]))[0] as VersionToken;
  }

  async create(key: string, value: Uint8Array): Promise<VersionToken> {
    return (await this.batch([{ op: 'create', key, value }]))[0] as VersionToken;
  }

  async update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken> {
    return (await this.batch([{ op: 'update', key, value, expected }]))[0] as VersionToken;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.batch([{ op: 'delete', key }]))[0] as boolean;
  }

  async deleteWithVersion(key: string, expected: VersionToken): Promise<boolean> {
    return (await this.batch([{ op: 'deleteWithVersion', key, expected }]))[0] as boolean;
  }

  async batch(ops: readonly KvOp[]): Promise<KvOpResult[]> {
    assertKvOps(ops);
    if (ops.length === 0) return [];
    const changes: KvChange[] = [];
    const results = await this.#db.write(['kv'], async (tx) => {
      changes.length = 0; // a retry on a reopened connection starts over
      // The bare store: requests without idb's promise each (a failed request aborts the
      // transaction, which tx.done reports), so a 10,000-put batch costs what hand-written
      // IndexedDB does.
      const store = unwrap(tx.objectStore('kv'));
      const out: KvOpResult[] = [];
      for (const op of ops) {
        // Blind puts need no read: issue them without a round through the microtask queue.
        out.push(
          op.op === 'put'
            ? this.#write(store, op.key, op.value, changes)
            : await this.#apply(tx, op, changes),
        );
      }
      return out;
    });
    this.#feed?.publish(changes.map((c) => c.key));
    // The caller still holds the written arrays: listeners get copies.
    if (this.#listening) this.#deliver(changes.map(copyChange));
    return results;
  }

  get #listening(): boolean {
    return this.#hub.size > 0 || this.#listeners.hasListeners();
  }

  /** Another instance wrote `keys`: deliver their committed state (if anyone listens). */
  async #refresh(keys: readonly string[]): Promise<void> {
    if (!this.#listening) return;
    try {
      const changes = await this.#db.read(['kv'], async (tx) => {
        const store = tx.objectStore('kv');
        const records = await Promise.all(keys.map((key) => store.get(key)));
        return keys.map((key, i) => toChange(key, records[i]));
      });
      this.#deliver(changes);
    } catch (error) {
      console.warn('chainsync: could not read the changes another tab announced', error);
    }
  }

  #deliver(changes: readonly KvChange[]): void {
    for (const change of changes) this.#hub.emit(change);
    this.#listeners.notify(changes);
  }

  /** One op inside the batch's transaction. Blind puts issue their request without waiting for it. */
  async #apply(tx: KvTx, op: KvOp, changes: KvChange[]): Promise<KvOpResult> {
    const store = tx.objectStore('kv');
    const current = await store.get(op.key);
    switch (op.op) {
      case 'put':
        return this.#write(unwrap(store), op.key, op.value, changes);
      case 'create':
        if (current && current.value.length > 0) {
          throw new AlreadyExistsError(
            `Key ${JSON.stringify(op.key)} already has a value; use update() to change it.`,
          );
        }
        return this.#write(unwrap(store), op.key, op.value, changes);
      case 'update':
        expectVersion(op.key, current, op.expected);
        return this.#write(unwrap(store), op.key, op.value, changes);
      case 'delete':
        if (!current) return false;
        quiet(store.delete(op.key));
        changes.push({ type: 'delete', key: op.key, version: null });
        return current.value.length > 0;
      case 'deleteWithVersion': {
        const wasLive = expectVersion(op.key, current, op.expected).value.length > 0;
        // The logical delete: what an update to the empty value writes.
        this.#write(unwrap(store), op.key, new Uint8Array(0), changes);
        return wasLive;
      }
    }
  }

  /**
   * Every write, an empty value (the logical delete) included, as a put on the bare store
   * (IndexedDB clones `value` at once: the caller's later edits do not leak in).
   */
  #write(store: IDBObjectStore, key: string, value: Uint8Array, changes: KvChange[]): VersionToken {
    const version = this.#nextVersion();
    store.put({ value, version }, key);
    changes.push(changeOfWrite(key, value, version));
    return version;
  }
}

function copyChange(change: KvChange): KvChange {
  return change.type === 'put' ? { ...change, value: copyBytes(change.value) } : change;
}

function toChange(key: string, record: KvRecord | undefined): KvChange {
  return record ? changeOfWrite(key, record.value, record.version) : { type: 'delete', key, version: null };
}

function expectVersion(key: string, current: KvRecord | undefined, expected: VersionToken): KvRecord {
  if (!current || current.version !== expected) {
    throw new RevisionMismatchError(
      `Key ${JSON.stringify(key)} is ${current ? 'at another version' : 'absent'}; read it again and retry.`,
    );
  }
  return current;
}
