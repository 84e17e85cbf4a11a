import type { Storage, StorageTxn, Uuid } from '../contracts/storage.js';
import { OptimisticStorageTxn, type StorageAccess } from '../core/optimistic-storage-txn.js';
import type { WorkerLink } from './worker-link.js';

/**
 * The store's Storage, seen from the main thread. The transaction object lives here (the shared
 * {@link OptimisticStorageTxn}); only committed reads and the one atomic `apply` cross to the worker,
 * so a transaction costs no worker state and a dropped one leaves nothing behind anywhere.
 */
export class ClientStorage implements Storage {
  readonly #access: StorageAccess<number>;

  constructor(link: WorkerLink) {
    this.#access = {
      readClient: (clientId) => link.request('storage', 'readClient', clientId),
      readVersion: (clientId, versionId, asOf) =>
        link.request('storage', 'readVersion', clientId, versionId, asOf),
      readVersionByParent: (clientId, parentId, asOf) =>
        link.request('storage', 'readVersionByParent', clientId, parentId, asOf),
      readVersionsAfter: (clientId, parentId, limit, asOf) =>
        link.request('storage', 'readVersionsAfter', clientId, parentId, limit, asOf),
      readSnapshotData: (clientId, versionId) =>
        link.request('storage', 'readSnapshotData', clientId, versionId),
      apply: (clientId, base, writes) => link.request('storage', 'apply', clientId, base, writes),
    };
  }

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.#access, clientId);
  }
}
