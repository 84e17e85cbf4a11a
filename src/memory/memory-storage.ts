import { TransactionConflictError } from '../contracts/errors.js';
import type { Storage, StorageTxn, Uuid, Version } from '../contracts/storage.js';
import { copyBytes } from '../core/bytes.js';
import {
  OptimisticStorageTxn,
  type ClientRecord,
  type StorageAccess,
  type StorageWrites,
} from '../core/optimistic-storage-txn.js';

/** A version with the revision of the commit that added it. */
interface StoredVersion {
  readonly version: Version;
  readonly revision: number;
}

interface ClientData {
  record: ClientRecord<number>;
  /** The current snapshot's data, with the version it is of. */
  snapshot: { readonly versionId: Uuid; readonly data: Uint8Array } | null;
  versions: Map<Uuid, StoredVersion>;
  childOf: Map<Uuid, Uuid>;
}

/** The reference {@link Storage}: per-client maps, transactions through `OptimisticStorageTxn` (src/core). */
export class MemoryStorage implements Storage {
  readonly #clients = new Map<Uuid, ClientData>();
  readonly #access: StorageAccess<number> = {
    readClient: async (clientId) => this.#clients.get(clientId)?.record ?? null,
    readVersion: async (clientId, versionId, asOf) =>
      copyAsOf(this.#clients.get(clientId)?.versions.get(versionId), asOf),
    readVersionByParent: async (clientId, parentId, asOf) => {
      const data = this.#clients.get(clientId);
      const childId = data?.childOf.get(parentId);
      return childId ? copyAsOf(data?.versions.get(childId), asOf) : null;
    },
    readSnapshotData: async (clientId, versionId) => {
      // Only the current snapshot is kept: one set since the transaction read is of another version.
      const snapshot = this.#clients.get(clientId)?.snapshot;
      return snapshot?.versionId === versionId ? copyBytes(snapshot.data) : null;
    },
    apply: async (clientId, base, writes) => this.#apply(clientId, base, writes),
  };

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.#access, clientId);
  }

  #apply(clientId: Uuid, base: ClientRecord<number> | null, writes: StorageWrites): void {
    const current = this.#clients.get(clientId);
    if ((current?.record.revision ?? null) !== (base?.revision ?? null)) {
      throw new TransactionConflictError(
        `Client ${clientId} changed since this transaction read it; nothing was applied. Retry in a new transaction.`,
      );
    }
    const data: ClientData = current ?? {
      record: { client: writes.client, revision: 0 },
      snapshot: null,
      versions: new Map(),
      childOf: new Map(),
    };
    const revision = data.record.revision + 1;
    data.record = { client: writes.client, revision };
    if (writes.snapshot) {
      data.snapshot = { versionId: writes.snapshot.meta.versionId, data: writes.snapshot.data };
    }
    for (const v of writes.versions) {
      data.versions.set(v.versionId, { version: v, revision });
      data.childOf.set(v.parentVersionId, v.versionId);
    }
    this.#clients.set(clientId, data);
  }
}

/** A copy of `stored` if it was committed by `asOf` (a transaction does not see later commits). */
function copyAsOf(stored: StoredVersion | undefined, asOf: ClientRecord<number>): Version | null {
  if (!stored || stored.revision > asOf.revision) return null;
  const v = stored.version;
  return { ...v, historySegment: copyBytes(v.historySegment) };
}
