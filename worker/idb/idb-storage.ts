import { AlreadyExistsError, TransactionConflictError } from '../../src/contracts/errors.js';
import type { Storage, StorageTxn, Uuid, Version } from '../../src/contracts/storage.js';
import {
  OptimisticStorageTxn,
  type ClientRecord,
  type StorageAccess,
  type StorageWrites,
} from '../../src/core/optimistic-storage-txn.js';
import { quiet, type IdbConnection } from './connection.js';
import { GroupCommit } from './group-commit.js';
import type { VersionRow } from './schema.js';

const STORES: ['clients', 'snapshots', 'versions'] = ['clients', 'snapshots', 'versions'];

/**
 * The {@link StorageAccess} of IndexedDB: committed reads, and an `apply` that re-checks the client
 * record's revision counter and the version keys inside a readwrite transaction before writing
 * anything. Concurrent applies share a transaction ({@link GroupCommit}), each seeing the ones
 * before it; one with a snapshot makes its group's commit strictly durable, the rest are relaxed.
 */
export class IdbStorageAccess implements StorageAccess<number> {
  readonly #db: IdbConnection;
  readonly #group: GroupCommit<typeof STORES>;

  constructor(db: IdbConnection) {
    this.#db = db;
    this.#group = new GroupCommit(db, STORES);
  }

  async readClient(clientId: Uuid): Promise<ClientRecord<number> | null> {
    const row = await this.#db.read(['clients'], (tx) => tx.objectStore('clients').get(clientId));
    return row ?? null;
  }

  async readVersion(clientId: Uuid, versionId: Uuid, asOf: ClientRecord<number>): Promise<Version | null> {
    const row = await this.#db.read(['versions'], (tx) =>
      tx.objectStore('versions').get([clientId, versionId]),
    );
    return toVersion(row, asOf);
  }

  async readVersionByParent(
    clientId: Uuid,
    parentVersionId: Uuid,
    asOf: ClientRecord<number>,
  ): Promise<Version | null> {
    const row = await this.#db.read(['versions'], (tx) =>
      tx.objectStore('versions').index('byParent').get([clientId, parentVersionId]),
    );
    return toVersion(row, asOf);
  }

  async readVersionsAfter(
    clientId: Uuid,
    parentVersionId: Uuid,
    limit: number,
    asOf: ClientRecord<number>,
  ): Promise<Version[]> {
    // One transaction for the whole walk: each lookup is issued as soon as the previous one lands.
    return this.#db.read(['versions'], async (tx) => {
      const byParent = tx.objectStore('versions').index('byParent');
      const out: Version[] = [];
      let parent = parentVersionId;
      while (out.length < limit) {
        const child = toVersion(await byParent.get([clientId, parent]), asOf);
        if (!child) break;
        out.push(child);
        parent = child.versionId;
      }
      return out;
    });
  }

  async readSnapshotData(clientId: Uuid, versionId: Uuid): Promise<Uint8Array | null> {
    const row = await this.#db.read(['snapshots'], (tx) => tx.objectStore('snapshots').get(clientId));
    return row && row.meta.versionId === versionId ? row.data : null;
  }

  async apply(clientId: Uuid, base: ClientRecord<number> | null, writes: StorageWrites): Promise<void> {
    await this.#group.write({
      // Every refusal is decided by reading, before anything is written: the transaction may hold
      // other commits (group commit), which a ConstraintError would abort with this one.
      run: async (tx) => {
        const clients = tx.objectStore('clients');
        const versions = tx.objectStore('versions');
        const byParent = versions.index('byParent');
        const [current, taken] = await Promise.all([
          clients.get(clientId),
          Promise.all(
            writes.versions.map(async (v) => {
              const [byId, sibling] = await Promise.all([
                versions.count([clientId, v.versionId]),
                byParent.count([clientId, v.parentVersionId]),
              ]);
              return byId + sibling > 0;
            }),
          ),
        ]);
        if ((current?.revision ?? null) !== (base?.revision ?? null)) {
          throw new TransactionConflictError(
            `Client ${clientId} changed since this transaction read it; nothing was applied. Retry in a new transaction.`,
          );
        }
        // What the unique keys would refuse: a stored id or parent, or one repeated in this commit.
        const ids = new Set<string>();
        const parents = new Set<string>();
        const clash = writes.versions.find((v, i) => {
          const repeated = ids.has(v.versionId) || parents.has(v.parentVersionId);
          ids.add(v.versionId);
          parents.add(v.parentVersionId);
          return taken[i] || repeated;
        });
        if (clash) {
          throw new AlreadyExistsError(
            `Version ${clash.versionId} or another child of ${clash.parentVersionId} already exists; nothing was applied.`,
          );
        }
        const revision = (current?.revision ?? 0) + 1;
        quiet(clients.put({ client: writes.client, revision }, clientId));
        if (writes.snapshot) quiet(tx.objectStore('snapshots').put(writes.snapshot, clientId));
        for (const v of writes.versions) quiet(versions.add({ clientId, ...v, revision }));
      },
      durability: writes.snapshot ? 'strict' : 'relaxed',
    });
  }
}

/** {@link Storage} on IndexedDB, transactions through the shared {@link OptimisticStorageTxn}. */
export class IdbStorage implements Storage {
  readonly access: IdbStorageAccess;

  constructor(db: IdbConnection) {
    this.access = new IdbStorageAccess(db);
  }

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.access, clientId);
  }
}

/** The version of `row` if it was committed by `asOf` (a transaction does not see later commits). */
function toVersion(row: VersionRow | undefined, asOf: ClientRecord<number>): Version | null {
  if (!row || (row.revision ?? 0) > asOf.revision) return null;
  return {
    versionId: row.versionId,
    parentVersionId: row.parentVersionId,
    historySegment: row.historySegment,
  };
}
