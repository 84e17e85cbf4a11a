import type { SyncProgress } from '../contracts/replica.js';
import type { Storage, StorageTxn, Uuid } from '../contracts/storage.js';
import { forwardingTxn } from '../core/forwarding-txn.js';

/**
 * A {@link Storage} that reports what the sync engine reads from it, page by page: the engine
 * itself stays unaware of progress reporting. `reset()` starts the counts of a new sync.
 */
export class ProgressStorage implements Storage {
  readonly #inner: Storage;
  readonly #report: (progress: SyncProgress) => void;
  #versions = 0;
  #bytes = 0;

  constructor(inner: Storage, report: (progress: SyncProgress) => void) {
    this.#inner = inner;
    this.#report = report;
  }

  reset(): void {
    this.#versions = 0;
    this.#bytes = 0;
  }

  async txn(clientId: Uuid): Promise<StorageTxn> {
    const txn = await this.#inner.txn(clientId);
    const report = (phase: SyncProgress['phase']) =>
      this.#report({ phase, versions: this.#versions, bytes: this.#bytes });
    return forwardingTxn(txn, {
      getSnapshotData: async (versionId) => {
        report('bootstrap');
        const data = await txn.getSnapshotData(versionId);
        this.#bytes += data?.byteLength ?? 0;
        report('bootstrap');
        return data;
      },
      getVersionsAfter: async (parent, limit) => {
        const versions = await txn.getVersionsAfter(parent, limit);
        if (versions.length > 0) {
          this.#versions += versions.length;
          for (const v of versions) this.#bytes += v.historySegment.byteLength;
          report('pull');
        }
        return versions;
      },
    });
  }
}
