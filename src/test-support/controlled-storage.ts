/**
 * Test doubles for the engine's tests (not part of the public API): a Storage whose state a test
 * can checkpoint, roll back, prune and tamper with, and a Storage that injects remote faults.
 *
 * The sync suites reach a controllable chain only through {@link ControlledStorage}, opened by
 * {@link controlledChains}: in memory here, on a live remote when a rerun file swaps the factory
 * (remote-suite-support.ts, remote-control.ts), so the same cases run over both.
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
  readonly calls = {
    readClient: 0,
    readVersion: 0,
    readVersionByParent: 0,
    readVersionsAfter: 0,
    readSnapshotData: 0,
    apply: 0,
  };
  readonly #access: StorageAccess<number> = {
    readClient: async () => {
      this.calls.readClient++;
      return this.#state.record && structuredClone(this.#state.record);
    },
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
    readSnapshotData: async () => {
      this.calls.readSnapshotData++;
      return this.#state.snapshotData && this.#state.snapshotData.slice();
    },
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

  /**
   * Deletes every version up to and including `upTo` (default: the snapshot's version), as a
   * server's pruning does. The surviving versions stay reachable from their parent's id, unless
   * `forgetLinks` simulates a server that loses that index too.
   */
  prune(upTo?: Uuid, { forgetLinks = false } = {}): number {
    const last = upTo ?? this.#state.record?.client.snapshot?.versionId;
    if (!last) throw new Error('nothing to prune: no snapshot');
    let n = 0;
    const versions = this.#state.versions;
    for (let v = versions.get(last); v; v = versions.get(v.parentVersionId)) {
      versions.delete(v.versionId);
      this.#state.childOf.delete(v.parentVersionId);
      if (forgetLinks) this.#state.childOf.delete(v.versionId);
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

  /** Replaces the current snapshot's data (tampering). */
  replaceSnapshotData(next: (data: Uint8Array) => Uint8Array): void {
    if (!this.#state.snapshotData) throw new Error('no snapshot to replace');
    this.#state.snapshotData = next(this.#state.snapshotData.slice()).slice();
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

/** How often the engine called each read of {@link StorageTxn} (what it asked of the Storage). */
export interface TxnCalls {
  getClient: number;
  getVersion: number;
  getVersionByParent: number;
  getVersionsAfter: number;
  getSnapshotData: number;
}

/**
 * One client's chain on some server, which a test can inspect and damage the way a hostile or
 * pruning server would. Every operation acts on what the server holds, not on a copy: a replica
 * syncing through this Storage afterwards sees the damage. Meant for one client id per instance.
 */
export interface ControlledStorage extends Storage {
  /** The engine's StorageTxn reads since construction or {@link ControlledStorage.resetCounts}. */
  readonly calls: TxnCalls;
  /**
   * Reads this Storage sent to the server since the last reset: requests to a remote, calls of
   * the in-memory double's StorageAccess (what a remote implementation would have to serve).
   */
  readonly serverReads: number;
  resetCounts(): void;
  /** The client record as the server holds it, or null before the first commit. */
  client(): Promise<Client | null>;
  /** The chain from its first stored version to the head, in order. */
  chain(): Promise<Version[]>;
  /** Copies everything the server holds; calling the result puts it all back (a rollback). */
  checkpoint(): Promise<() => Promise<void>>;
  /**
   * Deletes every version up to and including `upTo` (default: the snapshot's version), as a
   * server's pruning does, and returns how many. The surviving versions stay reachable from their
   * parent's id, unless `forgetLinks` simulates a server that loses that index too.
   */
  prune(upTo?: Uuid, options?: { forgetLinks?: boolean }): Promise<number>;
  /** Replaces a stored version (tampering). */
  replaceVersion(versionId: Uuid, next: (v: Version) => Version): Promise<void>;
  /** Replaces the current snapshot's data (tampering). */
  replaceSnapshotData(next: (data: Uint8Array) => Uint8Array): Promise<void>;
  /** Every byte the server holds for this chain, in every form it holds it. */
  storedBytes(): Promise<Uint8Array[]>;
}

function noCalls(): TxnCalls {
  return { getClient: 0, getVersion: 0, getVersionByParent: 0, getVersionsAfter: 0, getSnapshotData: 0 };
}

/** Counts the reads of every transaction of `inner` into `calls`. */
export function countingStorage(inner: Storage, calls: TxnCalls): Storage {
  return {
    txn: async (clientId) => {
      const txn = await inner.txn(clientId);
      const count = <T>(name: keyof TxnCalls, read: () => Promise<T>) => {
        calls[name]++;
        return read();
      };
      return {
        getClient: () => count('getClient', () => txn.getClient()),
        newClient: (id) => txn.newClient(id),
        setSnapshot: (s, d) => txn.setSnapshot(s, d),
        getSnapshotData: (id) => count('getSnapshotData', () => txn.getSnapshotData(id)),
        getVersionByParent: (id) => count('getVersionByParent', () => txn.getVersionByParent(id)),
        getVersion: (id) => count('getVersion', () => txn.getVersion(id)),
        getVersionsAfter: (id, limit) => count('getVersionsAfter', () => txn.getVersionsAfter(id, limit)),
        addVersion: (id, parent, seg) => txn.addVersion(id, parent, seg),
        commit: () => txn.commit(),
      };
    },
  };
}

/** {@link ControlledStorage} over the in-memory {@link ControllableStorage}. */
export class MemoryControlledStorage implements ControlledStorage {
  readonly memory = new ControllableStorage();
  readonly calls = noCalls();
  readonly #counted = countingStorage(this.memory, this.calls);

  txn(clientId: Uuid): Promise<StorageTxn> {
    return this.#counted.txn(clientId);
  }

  get serverReads(): number {
    const c = this.memory.calls;
    return c.readClient + c.readVersion + c.readVersionByParent + c.readVersionsAfter + c.readSnapshotData;
  }

  resetCounts(): void {
    Object.assign(this.calls, noCalls());
    for (const key of Object.keys(this.memory.calls) as (keyof ControllableStorage['calls'])[]) {
      this.memory.calls[key] = 0;
    }
  }

  async client(): Promise<Client | null> {
    return this.memory.client && structuredClone(this.memory.client);
  }

  async chain(): Promise<Version[]> {
    return this.memory.chain();
  }

  async checkpoint(): Promise<() => Promise<void>> {
    const saved = this.memory.checkpoint();
    return async () => this.memory.restore(saved);
  }

  async prune(upTo?: Uuid, options?: { forgetLinks?: boolean }): Promise<number> {
    return this.memory.prune(upTo, options);
  }

  async replaceVersion(versionId: Uuid, next: (v: Version) => Version): Promise<void> {
    this.memory.replaceVersion(versionId, next);
  }

  async replaceSnapshotData(next: (data: Uint8Array) => Uint8Array): Promise<void> {
    this.memory.replaceSnapshotData(next);
  }

  async storedBytes(): Promise<Uint8Array[]> {
    return this.memory.storedBytes();
  }
}

/**
 * Where the suites (sync.test.ts, crypto.test.ts) get a fresh controllable chain: in memory,
 * unless a rerun file points `open` at a live remote (remote-suite-support.ts).
 */
export const controlledChains: { open: () => ControlledStorage } = {
  open: () => new MemoryControlledStorage(),
};

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
