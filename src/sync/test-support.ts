/**
 * Test doubles for the engine's tests (not part of the public API): a Storage whose state a test
 * can checkpoint, roll back, prune and tamper with, and a Storage that injects remote faults.
 */
import {
  DeterminateRemoteError,
  IndeterminateRemoteError,
  TransactionConflictError,
} from '../contracts/errors.js';
import type { Client, Storage, StorageTxn, Uuid, Version } from '../contracts/storage.js';
import {
  OptimisticStorageTxn,
  type ClientRecord,
  type StorageAccess,
  type StorageWrites,
} from '../core/optimistic-storage-txn.js';

interface ChainState {
  record: ClientRecord<number> | null;
  snapshotData: Uint8Array | null;
  versions: Map<Uuid, Version>;
  childOf: Map<Uuid, Uuid>;
}

/** One client's chain, in memory, that a test can inspect and damage. Reads are counted. */
export class ControllableStorage implements Storage {
  #state: ChainState = { record: null, snapshotData: null, versions: new Map(), childOf: new Map() };
  /** Calls per StorageAccess method, to show how many round trips a sync needed. */
  readonly calls = { readVersion: 0, readVersionByParent: 0, readVersionsAfter: 0, apply: 0 };
  readonly #access: StorageAccess<number> = {
    readClient: async () => this.#state.record && structuredClone(this.#state.record),
    readVersion: async (_c, id) => {
      this.calls.readVersion++;
      return copyOrNull(this.#state.versions.get(id));
    },
    readVersionByParent: async (_c, parent) => {
      this.calls.readVersionByParent++;
      const child = this.#state.childOf.get(parent);
      return child ? copyOrNull(this.#state.versions.get(child)) : null;
    },
    readVersionsAfter: async (_c, parent, limit) => {
      this.calls.readVersionsAfter++;
      const out: Version[] = [];
      for (
        let id = this.#state.childOf.get(parent);
        id && out.length < limit;
        id = this.#state.childOf.get(id)
      ) {
        const v = this.#state.versions.get(id);
        if (!v) break;
        out.push(copy(v));
      }
      return out;
    },
    readSnapshotData: async () => this.#state.snapshotData && this.#state.snapshotData.slice(),
    apply: async (_c, base, writes) => this.#apply(base, writes),
  };

  async txn(clientId: Uuid): Promise<StorageTxn> {
    return new OptimisticStorageTxn(this.#access, clientId);
  }

  /** A copy of the whole state, for {@link ControllableStorage.restore}. */
  checkpoint(): ChainState {
    return clone(this.#state);
  }

  /** Puts the server back to a checkpoint: a rollback. */
  restore(state: ChainState): void {
    this.#state = clone(state);
  }

  get client(): Client | null {
    return this.#state.record?.client ?? null;
  }

  /** The chain from its first stored version to the head, in order. */
  chain(): Version[] {
    const out: Version[] = [];
    const byId = this.#state.versions;
    for (
      let v = byId.get(this.#state.record?.client.latestVersionId ?? '');
      v;
      v = byId.get(v.parentVersionId)
    ) {
      out.unshift(copy(v));
    }
    return out;
  }

  /** Deletes every version up to and including the snapshot's (what a server's pruning does). */
  prune(): number {
    const snap = this.#state.record?.client.snapshot;
    if (!snap) throw new Error('nothing to prune: no snapshot');
    let n = 0;
    const versions = this.#state.versions;
    for (let v = versions.get(snap.versionId); v; v = versions.get(v.parentVersionId)) {
      versions.delete(v.versionId);
      this.#state.childOf.delete(v.parentVersionId);
      n++;
    }
    return n;
  }

  /** Replaces a stored version (tampering). */
  replaceVersion(versionId: Uuid, next: (v: Version) => Version): void {
    const v = this.#state.versions.get(versionId);
    if (!v) throw new Error(`no version ${versionId}`);
    const replaced = next(copy(v));
    this.#state.versions.set(versionId, replaced);
  }

  /** Every byte the server holds (segments and snapshot). */
  storedBytes(): Uint8Array[] {
    const out = [...this.#state.versions.values()].map((v) => v.historySegment);
    if (this.#state.snapshotData) out.push(this.#state.snapshotData);
    return out;
  }

  #apply(base: ClientRecord<number> | null, writes: StorageWrites): void {
    this.calls.apply++;
    if ((this.#state.record?.revision ?? null) !== (base?.revision ?? null)) {
      throw new TransactionConflictError('client changed since read');
    }
    this.#state.record = {
      client: structuredClone(writes.client),
      revision: (this.#state.record?.revision ?? 0) + 1,
    };
    if (writes.snapshot) this.#state.snapshotData = writes.snapshot.data.slice();
    for (const v of writes.versions) {
      this.#state.versions.set(v.versionId, copy(v));
      this.#state.childOf.set(v.parentVersionId, v.versionId);
    }
  }
}

/** Decides the fault, if any, for one remote call. */
export type FaultPlan = (call: 'read' | 'commit') => 'none' | 'fail-before' | 'fail-after';

/**
 * Wraps a Storage and injects faults: reads and commits that fail determinately (nothing
 * happened), and commits that apply and then report an indeterminate failure.
 */
export class FaultyStorage implements Storage {
  constructor(
    readonly inner: Storage,
    public plan: FaultPlan,
  ) {}

  async txn(clientId: Uuid): Promise<StorageTxn> {
    const inner = await this.inner.txn(clientId);
    const read = async <T>(f: () => Promise<T>): Promise<T> => {
      if (this.plan('read') !== 'none') throw new DeterminateRemoteError('injected read failure');
      return f();
    };
    return {
      getClient: () => read(() => inner.getClient()),
      newClient: (id) => inner.newClient(id),
      setSnapshot: (s, d) => inner.setSnapshot(s, d),
      getSnapshotData: (id) => read(() => inner.getSnapshotData(id)),
      getVersionByParent: (id) => read(() => inner.getVersionByParent(id)),
      getVersion: (id) => read(() => inner.getVersion(id)),
      getVersionsAfter: (id, limit) => read(() => inner.getVersionsAfter(id, limit)),
      addVersion: (id, parent, seg) => inner.addVersion(id, parent, seg),
      commit: async () => {
        const fault = this.plan('commit');
        if (fault === 'fail-before')
          throw new DeterminateRemoteError('injected commit failure (not applied)');
        await inner.commit();
        if (fault === 'fail-after')
          throw new IndeterminateRemoteError('injected: applied, then the connection dropped');
      },
    };
  }
}

function copy(v: Version): Version {
  return { ...v, historySegment: v.historySegment.slice() };
}

function copyOrNull(v: Version | undefined): Version | null {
  return v ? copy(v) : null;
}

function clone(s: ChainState): ChainState {
  return {
    record: s.record && structuredClone(s.record),
    snapshotData: s.snapshotData && s.snapshotData.slice(),
    versions: new Map([...s.versions].map(([k, v]) => [k, copy(v)])),
    childOf: new Map(s.childOf),
  };
}
