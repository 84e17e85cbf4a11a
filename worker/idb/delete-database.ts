import { mapIdbError } from './connection.js';

/**
 * How many replica operations wait in store `name`'s pending queue (0 if the database does not
 * exist or has no replica). Reads the database as it is, without creating or upgrading it.
 */
export function countPendingOperations(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    let absent = false;
    // No database: abort the creation the open would do, so counting leaves nothing behind.
    request.onupgradeneeded = () => {
      absent = true;
      request.transaction?.abort();
    };
    request.onerror = (event) => {
      if (absent) {
        event.preventDefault();
        resolve(0);
      } else reject(mapIdbError(request.error));
    };
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => db.close();
      if (!db.objectStoreNames.contains('replicaPending')) {
        db.close();
        resolve(0);
        return;
      }
      const count = db.transaction('replicaPending', 'readonly').objectStore('replicaPending').count();
      count.onsuccess = () => {
        db.close();
        resolve(count.result);
      };
      count.onerror = () => {
        db.close();
        reject(mapIdbError(count.error));
      };
    };
  });
}

/**
 * Deletes the IndexedDB database `name` (the store's data, its replica and its blobs: one database
 * holds them all). Resolves once it is gone. If a connection nobody asked to close keeps it open
 * (code other than chainsync's engines, which close before this runs), the browser reports
 * `blocked`: `onBlocked` is called, and the deletion completes as soon as that connection closes.
 */
export function deleteDatabase(name: string, onBlocked?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(mapIdbError(request.error));
    request.onblocked = () => onBlocked?.();
  });
}
