import { openDB, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import { QuotaExceededError, StoreClosedError } from '../../src/contracts/errors.js';
import { SCHEMA_VERSION, STORE_NAMES, upgradeSteps, type ChainsyncDb } from './schema.js';

/** A database of one named store. */
export type Db = IDBPDatabase<ChainsyncDb>;
type Names = StoreNames<ChainsyncDb>;
/** A readwrite transaction over `S`. */
export type WriteTx<S extends Names[]> = IDBPTransaction<ChainsyncDb, S, 'readwrite'>;
/** A readonly transaction over `S`. */
export type ReadTx<S extends Names[]> = IDBPTransaction<ChainsyncDb, S, 'readonly'>;

/** How durably a write is committed: relaxed by default, strict for snapshots and migrations. */
export type Durability = 'relaxed' | 'strict';

/** Swallows a rejection we observe elsewhere (through `tx.done`), so it is not reported as unhandled. */
export function quiet(promise: Promise<unknown>): void {
  promise.catch(() => undefined);
}

/** True for the DOMException browsers throw when storage is full, however it is wrapped. */
function isQuotaError(error: unknown): boolean {
  const e = error as { name?: unknown; inner?: unknown } | null;
  return e?.name === 'QuotaExceededError';
}

/** Maps IndexedDB failures onto typed errors; chainsync errors pass through unchanged. */
export function mapIdbError(error: unknown, tx?: { error: DOMException | null }): unknown {
  if (isQuotaError(error) || isQuotaError(tx?.error)) {
    return new QuotaExceededError(
      'The browser refused the write for lack of storage space; nothing was written. Free space (or call navigator.storage.persist()) and retry.',
      { cause: error },
    );
  }
  return error;
}

/**
 * One store's IndexedDB connection, kept usable: it is opened lazily with the versioned schema,
 * closed when another tab needs a version change (so that tab is never blocked), and reopened on
 * the next call after that, after the browser closed it ("connection lost"), or when a transaction
 * cannot start because the connection is closing. Every logical write is one transaction.
 */
export class IdbConnection {
  readonly name: string;
  #db: Promise<Db> | null = null;
  /** The open database behind `#db`, once it resolved (so it can be forgotten synchronously). */
  #current: Db | null = null;
  #closed = false;

  constructor(name: string) {
    this.name = name;
  }

  /** Runs `body` in one readwrite transaction and waits for the commit; on any error nothing is written. */
  async write<S extends Names[], T>(
    stores: S,
    body: (tx: WriteTx<S>) => Promise<T>,
    durability: Durability = 'relaxed',
  ): Promise<T> {
    const tx = await this.#transaction(stores, 'readwrite', durability);
    const done = tx.done;
    quiet(done);
    let result: T;
    try {
      result = await body(tx);
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // already finished or aborted by the failing request
      }
      throw mapIdbError(error, tx);
    }
    try {
      await done;
    } catch (error) {
      throw mapIdbError(error, tx);
    }
    return result;
  }

  /** Runs `body` in one readonly transaction. */
  async read<S extends Names[], T>(stores: S, body: (tx: ReadTx<S>) => Promise<T>): Promise<T> {
    const tx = await this.#transaction(stores, 'readonly', 'relaxed');
    quiet(tx.done);
    return body(tx);
  }

  /** Closes the connection for good; later calls fail with StoreClosedError. */
  close(): void {
    this.#closed = true;
    const db = this.#db;
    this.#db = null;
    this.#current = null;
    if (db) quiet(db.then((d) => d.close()));
  }

  async #transaction<S extends Names[], M extends 'readonly' | 'readwrite'>(
    stores: S,
    mode: M,
    durability: Durability,
  ): Promise<IDBPTransaction<ChainsyncDb, S, M>> {
    for (let attempt = 0; ; attempt++) {
      const db = await this.#open();
      try {
        return db.transaction(stores, mode, { durability });
      } catch (error) {
        // The connection is closing (another tab's version change, WebKit's "connection lost"):
        // nothing has started yet, so reopening and retrying once is safe.
        if ((error as DOMException).name !== 'InvalidStateError' || attempt > 0) throw error;
        this.#forget(db);
      }
    }
  }

  #open(): Promise<Db> {
    if (this.#closed) {
      return Promise.reject(new StoreClosedError(`Store "${this.name}" is closed; open it again.`));
    }
    if (!this.#db) {
      const opening = this.#connect();
      this.#db = opening;
      opening.catch(() => {
        if (this.#db === opening) this.#db = null;
      });
    }
    return this.#db;
  }

  async #connect(): Promise<Db> {
    let db: Db;
    try {
      db = await openDB<ChainsyncDb>(this.name, SCHEMA_VERSION, {
        upgrade: (database, oldVersion) => {
          for (let v = oldVersion; v < SCHEMA_VERSION; v++) upgradeSteps[v]?.(database);
        },
        blocking: () => this.#forget(db),
        terminated: () => this.#forget(db),
      });
    } catch (error) {
      if ((error as DOMException).name !== 'VersionError') throw mapIdbError(error);
      db = await this.#connectToNewerSchema();
    }
    if (this.#closed) {
      db.close();
      throw new StoreClosedError(`Store "${this.name}" was closed while opening.`);
    }
    this.#current = db;
    return db;
  }

  /** A newer version of the app upgraded the database: use it if it still has every store we need. */
  async #connectToNewerSchema(): Promise<Db> {
    const db: Db = await openDB<ChainsyncDb>(this.name, undefined, {
      blocking: () => this.#forget(db),
      terminated: () => this.#forget(db),
    });
    const missing = STORE_NAMES.filter((s) => !db.objectStoreNames.contains(s));
    if (missing.length > 0) {
      db.close();
      throw new StoreClosedError(
        `Store "${this.name}" was upgraded by a newer version of the app (schema ${db.version}) without ${missing.join(', ')}; reload the page.`,
      );
    }
    return db;
  }

  /** Closes `db` (if it is still current) so the next call reopens. */
  #forget(db: Db | undefined): void {
    db?.close();
    if (db && this.#current === db) {
      this.#current = null;
      this.#db = null;
    }
  }
}
