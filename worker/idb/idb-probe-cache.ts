import type { ProbeCacheEntry, ProbeCacheStore } from '../../src/contracts/probe-cache.js';
import type { IdbConnection } from './connection.js';

/**
 * The worker's {@link ProbeCacheStore}: the store's own IndexedDB database (schema 3's
 * `probeCache`), so a page load finds the probe its previous load ran, and deleting the store's
 * local data removes it with everything else.
 */
export class IdbProbeCacheStore implements ProbeCacheStore {
  readonly #db: IdbConnection;

  constructor(connection: IdbConnection) {
    this.#db = connection;
  }

  get(key: string): Promise<ProbeCacheEntry | undefined> {
    return this.#db.read(['probeCache'], (tx) => tx.objectStore('probeCache').get(key));
  }

  async put(key: string, entry: ProbeCacheEntry): Promise<void> {
    await this.#db.write(['probeCache'], (tx) => tx.objectStore('probeCache').put(entry, key));
  }

  async delete(key: string): Promise<void> {
    await this.#db.write(['probeCache'], (tx) => tx.objectStore('probeCache').delete(key));
  }
}
