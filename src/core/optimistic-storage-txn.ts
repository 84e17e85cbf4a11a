import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  SnapshotMismatchError,
  TransactionFinishedError,
  VersionConflictError,
} from '../contracts/errors.js';
import {
  NIL_UUID,
  type Client,
  type Snapshot,
  type SnapshotPartRead,
  type StorageTxn,
  type Uuid,
  type Version,
} from '../contracts/storage.js';
import { copyBytes } from './bytes.js';
import { assertBytes, assertCount, assertTimestamp, assertUuid } from './validate.js';

/** A client record as an implementation reads it, with the revision that commit re-validates. */
export interface ClientRecord<R> {
  readonly client: Client;
  /** Changes on every committed write to the client (a counter, an ETag, …). */
  readonly revision: R;
}

/** Everything one transaction wrote, applied at commit in one atomic step. */
export interface StorageWrites {
  /** The client record as the transaction leaves it. */
  readonly client: Client;
  /** True when the transaction created the client. */
  readonly created: boolean;
  /** A new snapshot, when one was set. */
  readonly snapshot: { readonly meta: Snapshot; readonly data: Uint8Array } | null;
  /** Added versions, in chain order. */
  readonly versions: readonly Version[];
}

/**
 * What a Storage implementation provides to {@link OptimisticStorageTxn}: reads of committed state
 * and one atomic apply. Keeping the transaction logic here makes every implementation behave alike.
 *
 * Version reads answer as of `asOf`, the client record the transaction first read: a version
 * committed after it must read as absent. Otherwise a transaction that lost a race would see the
 * winner's version and report its effects (ALREADY_EXISTS: "the parent already has a child")
 * instead of the TRANSACTION_CONFLICT a caller retries on. The transaction never asks when the
 * client did not exist at its first read (none of its versions did either).
 */
export interface StorageAccess<R> {
  readClient(clientId: Uuid): Promise<ClientRecord<R> | null>;
  readVersion(clientId: Uuid, versionId: Uuid, asOf: ClientRecord<R>): Promise<Version | null>;
  readVersionByParent(clientId: Uuid, parentVersionId: Uuid, asOf: ClientRecord<R>): Promise<Version | null>;
  /** Optional bulk read of committed versions following `parentVersionId`; defaults to a walk. */
  readVersionsAfter?(
    clientId: Uuid,
    parentVersionId: Uuid,
    limit: number,
    asOf: ClientRecord<R>,
  ): Promise<Version[]>;
  /** Optional: about how many committed versions follow `parentVersionId` (see `StorageTxn.countVersionsAfter`). */
  countVersionsAfter?(clientId: Uuid, parentVersionId: Uuid, asOf: ClientRecord<R>): Promise<number | null>;
  readSnapshotData(clientId: Uuid, versionId: Uuid, onPart?: SnapshotPartRead): Promise<Uint8Array | null>;
  /**
   * Applies `writes` atomically iff the client's revision is still `base` (`null`: still absent).
   * @throws TransactionConflictError otherwise, having applied nothing.
   */
  apply(clientId: Uuid, base: ClientRecord<R> | null, writes: StorageWrites): Promise<void>;
}

/**
 * A {@link StorageTxn} with optimistic concurrency: reads see committed state as of the first read
 * plus this transaction's own writes (snapshot isolation, see {@link StorageAccess}); writes are
 * buffered and applied at `commit()` only if nobody changed the client meanwhile, so a lost race
 * always surfaces as TRANSACTION_CONFLICT at commit. IndexedDB cannot hold a transaction open across awaits, and a
 * remote server offers only per-object CAS, so every implementation uses this one mechanism.
 */
export class OptimisticStorageTxn<R> implements StorageTxn {
  readonly #access: StorageAccess<R>;
  readonly #clientId: Uuid;
  #base: ClientRecord<R> | null | undefined;
  #client: Client | null = null;
  #created = false;
  #snapshot: StorageWrites['snapshot'] = null;
  readonly #versions: Version[] = [];
  #finished = false;

  constructor(access: StorageAccess<R>, clientId: Uuid) {
    assertUuid(clientId, 'clientId');
    this.#access = access;
    this.#clientId = clientId;
  }

  async getClient(): Promise<Client | null> {
    return copyClient(await this.#view());
  }

  async newClient(latestVersionId: Uuid): Promise<void> {
    this.#open();
    assertUuid(latestVersionId, 'latestVersionId');
    if (await this.#view()) throw new AlreadyExistsError(`Client ${this.#clientId} already exists.`);
    this.#client = { latestVersionId, snapshot: null };
    this.#created = true;
  }

  async setSnapshot(snapshot: Snapshot, data: Uint8Array): Promise<void> {
    this.#open();
    assertSnapshot(snapshot);
    assertBytes(data, 'data');
    const client = await this.#requireClient();
    const meta = {
      versionId: snapshot.versionId,
      timestamp: snapshot.timestamp,
      versionsSince: snapshot.versionsSince,
    };
    this.#client = { ...client, snapshot: meta };
    this.#snapshot = { meta, data: copyBytes(data) };
  }

  async getSnapshotData(versionId: Uuid, onPart?: SnapshotPartRead): Promise<Uint8Array | null> {
    this.#open();
    assertUuid(versionId, 'versionId');
    const client = await this.#requireClient();
    if (client.snapshot?.versionId !== versionId) {
      throw new SnapshotMismatchError(
        client.snapshot
          ? `The current snapshot is of version ${client.snapshot.versionId}, not ${versionId}.`
          : `Client ${this.#clientId} has no snapshot.`,
      );
    }
    if (this.#snapshot) return copyBytes(this.#snapshot.data);
    return this.#access.readSnapshotData(this.#clientId, versionId, onPart);
  }

  async getVersionByParent(parentVersionId: Uuid): Promise<Version | null> {
    this.#open();
    assertUuid(parentVersionId, 'parentVersionId');
    await this.#view();
    return this.#childOf(parentVersionId);
  }

  async getVersion(versionId: Uuid): Promise<Version | null> {
    this.#open();
    assertUuid(versionId, 'versionId');
    await this.#view();
    const own = this.#versions.find((v) => v.versionId === versionId);
    if (own) return copyVersion(own);
    return this.#base ? this.#access.readVersion(this.#clientId, versionId, this.#base) : null;
  }

  async getVersionsAfter(parentVersionId: Uuid, limit: number): Promise<Version[]> {
    this.#open();
    assertUuid(parentVersionId, 'parentVersionId');
    assertCount(limit, 'limit');
    await this.#view();
    const out: Version[] = [];
    let parent = parentVersionId;
    // Committed versions never follow this transaction's own, so read them first, in bulk when the
    // implementation can; the walk below then continues into the buffered ones.
    if (this.#access.readVersionsAfter && this.#base) {
      out.push(...(await this.#access.readVersionsAfter(this.#clientId, parent, limit, this.#base)));
      parent = out[out.length - 1]?.versionId ?? parent;
    }
    while (out.length < limit) {
      const child = await this.#childOf(parent);
      if (!child) break;
      out.push(child);
      parent = child.versionId;
    }
    return out;
  }

  /** About how many versions follow `parentVersionId`, when the implementation can count them (else `null`). */
  async countVersionsAfter(parentVersionId: Uuid): Promise<number | null> {
    this.#open();
    assertUuid(parentVersionId, 'parentVersionId');
    await this.#view();
    if (!this.#access.countVersionsAfter) return null;
    const committed = this.#base
      ? await this.#access.countVersionsAfter(this.#clientId, parentVersionId, this.#base)
      : 0;
    // This transaction's own versions follow the committed ones.
    return committed === null ? null : committed + this.#versions.length;
  }

  async addVersion(versionId: Uuid, parentVersionId: Uuid, historySegment: Uint8Array): Promise<void> {
    this.#open();
    assertUuid(versionId, 'versionId');
    assertUuid(parentVersionId, 'parentVersionId');
    assertBytes(historySegment, 'historySegment');
    // Both would let a walk down the chain (getVersionsAfter, a sync's pull) loop or stop early.
    if (versionId === NIL_UUID) {
      throw new InvalidArgumentError(
        'versionId',
        'the nil UUID stands for "no version" (the parent of the first version); give every version a fresh id such as crypto.randomUUID() returns.',
      );
    }
    if (versionId === parentVersionId) {
      throw new InvalidArgumentError(
        'parentVersionId',
        `${parentVersionId} is also the new version's id: a version cannot be its own parent. Pass the id of the client's latest version.`,
      );
    }
    const client = await this.#requireClient();
    if (client.latestVersionId !== parentVersionId && client.latestVersionId !== NIL_UUID) {
      throw new VersionConflictError(
        `The latest version of client ${this.#clientId} is ${client.latestVersionId}, not ${parentVersionId}: pull first.`,
      );
    }
    if (await this.getVersion(versionId)) {
      throw new AlreadyExistsError(`Version ${versionId} already exists; every version needs a new id.`);
    }
    if (await this.#childOf(parentVersionId)) {
      throw new AlreadyExistsError(`Version ${parentVersionId} already has a child.`);
    }
    const snapshot = client.snapshot && {
      ...client.snapshot,
      versionsSince: client.snapshot.versionsSince + 1,
    };
    this.#client = { latestVersionId: versionId, snapshot };
    this.#versions.push({ versionId, parentVersionId, historySegment: copyBytes(historySegment) });
  }

  async commit(): Promise<void> {
    this.#open();
    this.#finished = true;
    const client = this.#client;
    if (!client) return; // nothing written: a read-only transaction commits trivially
    await this.#access.apply(this.#clientId, this.#base ?? null, {
      client,
      created: this.#created,
      snapshot: this.#snapshot,
      versions: this.#versions,
    });
  }

  #open(): void {
    if (this.#finished) {
      throw new TransactionFinishedError(
        'This transaction has been committed; begin a new one with storage.txn().',
      );
    }
  }

  /** The client as this transaction sees it; reads the committed record once, on first use. */
  async #view(): Promise<Client | null> {
    this.#open();
    if (this.#base === undefined) {
      const base = await this.#access.readClient(this.#clientId);
      if (this.#base === undefined) this.#base = base;
    }
    return this.#client ?? this.#base?.client ?? null;
  }

  async #requireClient(): Promise<Client> {
    const client = await this.#view();
    if (!client)
      throw new NotFoundError(`Client ${this.#clientId} does not exist; create it with newClient().`);
    return client;
  }

  async #childOf(parentVersionId: Uuid): Promise<Version | null> {
    const own = this.#versions.find((v) => v.parentVersionId === parentVersionId);
    if (own) return copyVersion(own);
    return this.#base ? this.#access.readVersionByParent(this.#clientId, parentVersionId, this.#base) : null;
  }
}

function assertSnapshot(snapshot: unknown): asserts snapshot is Snapshot {
  if (typeof snapshot !== 'object' || snapshot === null) {
    throw new InvalidArgumentError('snapshot', 'expected { versionId, timestamp, versionsSince }.');
  }
  const s = snapshot as Record<string, unknown>;
  assertUuid(s.versionId, 'snapshot.versionId');
  assertTimestamp(s.timestamp, 'snapshot.timestamp');
  assertCount(s.versionsSince, 'snapshot.versionsSince');
}

function copyClient(client: Client | null): Client | null {
  return (
    client && { latestVersionId: client.latestVersionId, snapshot: client.snapshot && { ...client.snapshot } }
  );
}

function copyVersion(v: Version): Version {
  return {
    versionId: v.versionId,
    parentVersionId: v.parentVersionId,
    historySegment: copyBytes(v.historySegment),
  };
}
