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

/** A transaction's failure, with the transaction (for its error and its connection). */
class Failed {
  constructor(
    readonly error: unknown,
    readonly tx: { error: DOMException | null; db: unknown },
  ) {}
}

/**
 * The connection went away under a transaction: WebKit's "Connection to Indexed Database server
 * lost" (UnknownError), or a transaction refused on a closing connection (InvalidStateError).
 */
export function isConnectionLoss(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'UnknownError' || name === 'InvalidStateError';
}

/** Maps IndexedDB failures onto typed errors; chainsync errors pass through unchanged. */
export function mapIdbError(error: unknown, tx?: { error: DOMException | null }): unknown {
  if (isQuotaError(error) || isQuotaError(tx?.error)) {
    return new QuotaExceededError(
      'The browser refused the write for lack of storage space; nothing was written. Free space (or call navigator.storage.persist()) and retry.',
      {},
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
  /** The closing, once begun: every close() call waits for the same one. */
  #closing: Promise<void> | null = null;
  /** Transactions started and not yet over (see close()). */
  #running = 0;
  /** Called when the last running transaction is over. */
  #idle: (() => void) | null = null;

  constructor(name: string) {
    this.name = name;
  }

  /**
   * True once {@link close} was called. A transaction body that goes on after an await checks it
   * before issuing more requests: WebKit never answers a request started while the connection
   * closes, and close() waits for the transaction.
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `body` in one readwrite transaction and waits for the commit; on any error nothing is
   * written. If the connection is lost under the transaction (it aborted, so nothing was written),
   * the connection is reopened and `body` runs once more: bodies must depend only on what they read.
   */
  async write<S extends Names[], T>(
    stores: S,
    body: (tx: WriteTx<S>) => Promise<T>,
    durability: Durability = 'relaxed',
  ): Promise<T> {
    return this.#retryOnLostConnection(async () => {
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
        throw new Failed(error, tx);
      }
      try {
        await done;
      } catch (error) {
        throw new Failed(error, tx);
      }
      return result;
    });
  }

  /** Runs `body` in one readonly transaction (again, once, on a reopened connection if it was lost). */
  async read<S extends Names[], T>(stores: S, body: (tx: ReadTx<S>) => Promise<T>): Promise<T> {
    return this.#retryOnLostConnection(async () => {
      const tx = await this.#transaction(stores, 'readonly', 'relaxed');
      quiet(tx.done);
      try {
        return await body(tx);
      } catch (error) {
        throw new Failed(error, tx);
      }
    });
  }

  async #retryOnLostConnection<T>(attempt: () => Promise<T>): Promise<T> {
    for (let retried = false; ; retried = true) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof Failed)) throw error;
        if (retried || !isConnectionLoss(error.error) || this.#closed)
          throw mapIdbError(error.error, error.tx);
        this.#forget(error.tx.db as Db);
      }
    }
  }

  /**
   * Closes the connection for good; later calls fail with StoreClosedError. Resolves once it is
   * closed: a connection closed under a running transaction stays open until that transaction is
   * over, and a worker ended before then left it open in WebKit, blocking a deletion of the
   * database for good. So the engine waits for this before it lets go of the store.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    this.#db = null;
    this.#current = null;
    if (db) {
      try {
        (await db).close();
      } catch {
        // it never opened: nothing to close
      }
    }
    if (this.#running > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  /** Counts `tx` as running until it is over (committed or aborted). */
  #track<T extends { done: Promise<void> }>(tx: T): T {
    this.#running++;
    const over = () => {
      if (--this.#running === 0) this.#idle?.();
    };
    tx.done.then(over, over);
    return tx;
  }

  async #transaction<S extends Names[], M extends 'readonly' | 'readwrite'>(
    stores: S,
    mode: M,
    durability: Durability,
  ): Promise<IDBPTransaction<ChainsyncDb, S, M>> {
    for (let attempt = 0; ; attempt++) {
      // The open connection is used synchronously: no await on the hot path.
      const db = this.#current && !this.#closed ? this.#current : await this.#open();
      try {
        return this.#track(db.transaction(stores, mode, { durability }));
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
        upgrade: (database, oldVersion, _newVersion, transaction) => {
          for (let v = oldVersion; v < SCHEMA_VERSION; v++) upgradeSteps[v]?.(database, transaction);
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
