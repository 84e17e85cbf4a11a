import type { KvChangeFeed } from './idb-cas-kv.js';
import { IdbConnection } from './connection.js';
import { IdbBlobStorage } from './idb-blob-storage.js';
import { IdbCasKv } from './idb-cas-kv.js';
import { IdbConsensus } from './idb-consensus.js';
import { IdbStorage } from './idb-storage.js';

export { IdbConnection, mapIdbError, type Durability } from './connection.js';
export { together } from './group-commit.js';
export { IdbCasKv, type KvChangeFeed } from './idb-cas-kv.js';
export { IdbConsensus } from './idb-consensus.js';
export { IdbStorage, IdbStorageAccess } from './idb-storage.js';
export { IdbBlobStorage, IdbBlobReader } from './idb-blob-storage.js';
export { SCHEMA_VERSION } from './schema.js';
export { IdbProbeCacheStore } from './idb-probe-cache.js';
export { countPendingOperations, deleteDatabase } from './delete-database.js';

/** The IndexedDB database of store `name`: its data, its replica and its blobs, all in one. */
export function storeDatabaseName(name: string): string {
  return `chainsync:${name}`;
}

/** Options of {@link openIdbStore}. */
export interface IdbStoreOptions {
  /** This instance's pid (holder of open blob readers). Default: a random UUID. */
  pid?: string;
  /** Carries CasKv changes to and from the store's other instances. */
  feed?: KvChangeFeed;
}

/** Every contract of one named store, on one IndexedDB database (named after the store). */
export interface IdbStore {
  readonly connection: IdbConnection;
  readonly kv: IdbCasKv;
  readonly consensus: IdbConsensus;
  readonly storage: IdbStorage;
  readonly blobs: IdbBlobStorage;
  /** Closes the store; resolves once its connection is closed (see IdbConnection.close). */
  close(): Promise<void>;
}

/** Opens (lazily, on first use) the store `name`: one database holding every contract's data. */
export function openIdbStore(name: string, options: IdbStoreOptions = {}): IdbStore {
  const connection = new IdbConnection(storeDatabaseName(name));
  return {
    connection,
    kv: new IdbCasKv(connection, options.feed),
    consensus: new IdbConsensus(connection),
    storage: new IdbStorage(connection),
    blobs: new IdbBlobStorage(connection, options.pid),
    close() {
      options.feed?.close();
      return connection.close();
    },
  };
}
