import type { IdbConnection } from './connection.js';
import { BACKGROUND_SYNC_KEY, type BackgroundSyncRecord } from './schema.js';

/**
 * The store's background-sync record (schema 4's `backgroundSync`): in the store's own database,
 * so deleting the store's local data removes it (and the key in it) with everything else.
 */
export class IdbBackgroundSync {
  readonly #db: IdbConnection;

  constructor(connection: IdbConnection) {
    this.#db = connection;
  }

  read(): Promise<BackgroundSyncRecord | undefined> {
    return this.#db.read(['backgroundSync'], (tx) =>
      tx.objectStore('backgroundSync').get(BACKGROUND_SYNC_KEY),
    );
  }

  async write(record: BackgroundSyncRecord): Promise<void> {
    await this.#db.write(['backgroundSync'], (tx) =>
      tx.objectStore('backgroundSync').put(record, BACKGROUND_SYNC_KEY),
    );
  }

  /** Stores the data set's key in the record, if there is one (the app may have opted out since). */
  async keep(key: CryptoKey): Promise<void> {
    await this.#db.write(['backgroundSync'], async (tx) => {
      const store = tx.objectStore('backgroundSync');
      const record = await store.get(BACKGROUND_SYNC_KEY);
      if (record) await store.put({ ...record, key }, BACKGROUND_SYNC_KEY);
    });
  }

  async delete(): Promise<void> {
    await this.#db.write(['backgroundSync'], (tx) =>
      tx.objectStore('backgroundSync').delete(BACKGROUND_SYNC_KEY),
    );
  }
}
