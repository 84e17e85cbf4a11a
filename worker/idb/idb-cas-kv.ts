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
import type { IdbConnection, WriteTx } from './connection.js';
import { GroupCommit } from './group-commit.js';
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
 * {@link CasKv} on IndexedDB. Writes (each a batch: all or nothing) are group-committed: those
 * that arrive while a transaction is in flight share the next one, each checked in arrival order
 * and refused on its own ({@link GroupCommit}). Changes are delivered to local watchers after the
 * commit, in commit order, and published on `feed`, from which other instances' changes arrive too.
 */
export class IdbCasKv implements BatchCasKv {
  readonly #db: IdbConnection;
  readonly #group: GroupCommit<'kv'[]>;
  readonly #hub = new KvWatchHub();
  readonly #nextVersion = uniqueTokens();
  readonly #feed: KvChangeFeed | undefined;
  readonly #listeners = new Subscribable<readonly KvChange[]>('chainsync: a change listener threw');

  constructor(db: IdbConnection, feed?: KvChangeFeed) {
    this.#db = db;
    this.#group = new GroupCommit(db, ['kv']);
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

  put(key: string, value: Uint8Array): Promise<VersionToken> {
    return this.batch([{ op: 'put', key, value }]).then(first<VersionToken>);
  }

  create(key: string, value: Uint8Array): Promise<VersionToken> {
    return this.batch([{ op: 'create', key, value }]).then(first<VersionToken>);
  }

  update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken> {
    return this.batch([{ op: 'update', key, value, expected }]).then(first<VersionToken>);
  }

  delete(key: string): Promise<boolean> {
    return this.batch([{ op: 'delete', key }]).then(first<boolean>);
  }

  deleteWithVersion(key: string, expected: VersionToken): Promise<boolean> {
    return this.batch([{ op: 'deleteWithVersion', key, expected }]).then(first<boolean>);
  }

  async batch(ops: readonly KvOp[]): Promise<KvOpResult[]> {
    assertKvOps(ops);
    if (ops.length === 0) return [];
    // A write that waits for the group in flight is issued later: the caller may edit its arrays
    // meanwhile, so it keeps copies (a write that starts at once is cloned by IndexedDB at once).
    const queued = this.#group.busy ? ops.map(copyOp) : ops;
    return this.#group
      .write({
        run: (tx) => this.#plan(tx, queued),
        committed: ({ changes }) => {
          this.#feed?.publish(changes.map((c) => c.key));
          // The caller still holds the written arrays: listeners get copies.
          if (this.#listening) this.#deliver(changes.map(copyChange));
        },
      })
      .then(({ results }) => results);
  }

  /**
   * One batch inside its group's transaction: every op is checked (reading the stored record, or
   * what an earlier op of the batch left) before anything is written, so a refused batch writes
   * nothing and the group's transaction goes on for the others. Then its writes are issued on the
   * bare store (requests without idb's promise each: a failed request aborts the transaction, which
   * tx.done reports), so a 10,000-put batch costs what hand-written IndexedDB does. A batch of blind
   * puts needs no read and answers synchronously.
   */
  #plan(tx: KvTx, ops: readonly KvOp[]): Planned | Promise<Planned> {
    if (ops.every((op) => op.op === 'put')) {
      const planned = emptyPlan();
      for (const op of ops) planned.results.push(this.#stage(planned, op.key, op.value));
      return this.#issue(tx, planned);
    }
    return this.#planChecked(tx, ops);
  }

  async #planChecked(tx: KvTx, ops: readonly KvOp[]): Promise<Planned> {
    const store = tx.objectStore('kv');
    const planned = emptyPlan();
    const current = async (key: string) =>
      planned.staged.has(key) ? planned.staged.get(key) : await store.get(key);
    for (const op of ops) planned.results.push(await this.#check(planned, op, current));
    return this.#issue(tx, planned);
  }

  /** Checks one op against the current record and stages its write; throws (typed) to refuse. */
  async #check(
    planned: Planned,
    op: KvOp,
    current: (key: string) => Promise<KvRecord | undefined>,
  ): Promise<KvOpResult> {
    if (op.op === 'put') return this.#stage(planned, op.key, op.value);
    const record = await current(op.key);
    switch (op.op) {
      case 'create':
        if (record && record.value.length > 0) {
          throw new AlreadyExistsError(
            `Key ${JSON.stringify(op.key)} already has a value; use update() to change it.`,
          );
        }
        return this.#stage(planned, op.key, op.value);
      case 'update':
        expectVersion(op.key, record, op.expected);
        return this.#stage(planned, op.key, op.value);
      case 'delete':
        if (!record) return false;
        planned.staged.set(op.key, undefined);
        planned.changes.push({ type: 'delete', key: op.key, version: null });
        return record.value.length > 0;
      case 'deleteWithVersion': {
        const wasLive = expectVersion(op.key, record, op.expected).value.length > 0;
        // The logical delete: what an update to the empty value writes.
        this.#stage(planned, op.key, new Uint8Array(0));
        return wasLive;
      }
    }
  }

  /** Stages a write (an empty value, the logical delete, included) under a new version. */
  #stage(planned: Planned, key: string, value: Uint8Array): VersionToken {
    const version = this.#nextVersion();
    planned.staged.set(key, { value, version });
    planned.changes.push(changeOfWrite(key, value, version));
    return version;
  }

  /** Issues the staged writes, in order (IndexedDB clones each value as the request is made). */
  #issue(tx: KvTx, planned: Planned): Planned {
    const store = unwrap(tx.objectStore('kv'));
    for (const [key, record] of planned.staged) {
      if (record) store.put(record, key);
      else store.delete(key);
    }
    return planned;
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
}

/** A batch's writes, checked and staged: the last record per key (undefined: deleted). */
interface Planned {
  readonly staged: Map<string, KvRecord | undefined>;
  readonly changes: KvChange[];
  readonly results: KvOpResult[];
}

/** The result of a one-op batch (a `.then` of its own, not an async wrapper: fewer hops per write). */
function first<T extends KvOpResult>(results: KvOpResult[]): T {
  return results[0] as T;
}

function emptyPlan(): Planned {
  return { staged: new Map(), changes: [], results: [] };
}

function copyOp(op: KvOp): KvOp {
  return 'value' in op ? { ...op, value: copyBytes(op.value) } : op;
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
