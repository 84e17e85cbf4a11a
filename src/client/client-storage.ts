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
      readClient: (clientId) => link.call((r) => r.storage.readClient(clientId)),
      readVersion: (clientId, versionId, asOf) =>
        link.call((r) => r.storage.readVersion(clientId, versionId, asOf)),
      readVersionByParent: (clientId, parentId, asOf) =>
        link.call((r) => r.storage.readVersionByParent(clientId, parentId, asOf)),
      readVersionsAfter: (clientId, parentId, limit, asOf) =>
        link.call((r) => r.storage.readVersionsAfter(clientId, parentId, limit, asOf)),
      readSnapshotData: (clientId, versionId) =>
        link.call((r) => r.storage.readSnapshotData(clientId, versionId)),
      apply: (clientId, base, writes) => link.call((r) => r.storage.apply(clientId, base, writes)),
    };
  }

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.#access, clientId);
  }
}
