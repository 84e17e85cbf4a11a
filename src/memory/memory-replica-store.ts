import type { ObjectRef, Properties, StoredObject } from '../contracts/replica.js';
import { InvalidArgumentError } from '../contracts/errors.js';
import { copyJson, objectKey } from '../core/operations.js';
import {
  INITIAL_REPLICA_STATE,
  type PendingOperation,
  type ReplicaState,
  type ReplicaStore,
  type ReplicaWrite,
  type ShadowObject,
} from '../contracts/replica-store.js';

/** The reference {@link ReplicaStore}, in memory: for tests and for replicas that need no persistence. */
export class MemoryReplicaStore implements ReplicaStore {
  #state: ReplicaState = INITIAL_REPLICA_STATE;
  #objects = new Map<string, StoredObject>();
  #shadows = new Map<string, ShadowObject>();
  #pending = new Map<number, PendingOperation>();
  /** Largest seq in the queue: while appends stay above it, insertion order is seq order. */
  #maxSeq = -Infinity;

  async readState(): Promise<ReplicaState> {
    return structuredClone(this.#state);
  }

  async getObjects(refs: readonly ObjectRef[]): Promise<(Properties | null)[]> {
    return refs.map((ref) => {
      const o = this.#objects.get(objectKey(ref));
      return o ? copyJson(o.properties) : null;
    });
  }

  async listObjects(collection?: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const o of this.#objects.values()) {
      if (collection === undefined || o.collection === collection) out.push(structuredClone(o));
    }
    return out.sort((a, b) => compare(a.collection, b.collection) || compare(a.id, b.id));
  }

  async getShadows(): Promise<ShadowObject[]> {
    return [...this.#shadows.values()].map((s) => structuredClone(s));
  }

  async getShadowsOf(refs: readonly ObjectRef[]): Promise<(ShadowObject | undefined)[]> {
    return refs.map((ref) => {
      const s = this.#shadows.get(objectKey(ref));
      return s && structuredClone(s);
    });
  }

  async getPending(limit = Infinity): Promise<PendingOperation[]> {
    const out: PendingOperation[] = [];
    for (const p of this.#pending.values()) {
      if (out.length >= limit) break;
      out.push(p);
    }
    return structuredClone(out);
  }

  async countPending(): Promise<number> {
    return this.#pending.size;
  }

  async commit(write: ReplicaWrite): Promise<void> {
    // Copy everything first, so a bad input throws before anything changes. (JSON is the data
    // model, and a JSON round trip is much faster than structuredClone for it.)
    const w = JSON.parse(JSON.stringify(write, refuseUnstorable)) as ReplicaWrite;
    if (w.clearObjects) this.#objects = new Map();
    for (const ref of w.deleteObjects ?? []) this.#objects.delete(objectKey(ref));
    for (const o of w.putObjects ?? []) this.#objects.set(objectKey(o), o);
    if (w.clearShadows) this.#shadows = new Map();
    for (const ref of w.deleteShadows ?? []) this.#shadows.delete(objectKey(ref));
    for (const s of w.putShadows ?? []) this.#shadows.set(objectKey(s), s);
    for (const seq of w.removePending ?? []) this.#pending.delete(seq);
    for (const p of w.appendPending ?? []) {
      this.#pending.set(p.seq, p);
      if (p.seq < this.#maxSeq) this.#pending = new Map([...this.#pending].sort(([a], [b]) => a - b));
      this.#maxSeq = Math.max(this.#maxSeq, p.seq);
    }
    if (w.state) this.#state = w.state;
  }
}

/** JSON.stringify would silently drop these; IndexedDB refuses them, and so does this store. */
function refuseUnstorable(key: string, value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new InvalidArgumentError(
      'write',
      `${key ? `"${key}" ` : ''}holds a ${typeof value}, which cannot be stored; nothing was written. Pass JSON values.`,
    );
  }
  return value;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
