import { copyJson, objectKey, type ObjectRef, type Properties } from './operations.js';
import {
  INITIAL_REPLICA_STATE,
  type PendingOperation,
  type ReplicaState,
  type ReplicaStore,
  type ReplicaWrite,
  type ShadowObject,
  type StoredObject,
} from './replica-store.js';

/** The reference {@link ReplicaStore}, in memory: for tests and for replicas that need no persistence. */
export class MemoryReplicaStore implements ReplicaStore {
  #state: ReplicaState = INITIAL_REPLICA_STATE;
  #objects = new Map<string, StoredObject>();
  #shadows = new Map<string, ShadowObject>();
  readonly #pending = new Map<number, PendingOperation>();

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

  async getPending(limit?: number): Promise<PendingOperation[]> {
    const all = [...this.#pending.values()].sort((a, b) => a.seq - b.seq);
    return structuredClone(limit === undefined ? all : all.slice(0, limit));
  }

  async countPending(): Promise<number> {
    return this.#pending.size;
  }

  async commit(write: ReplicaWrite): Promise<void> {
    // Copy everything first, so a bad input throws before anything changes.
    const w = structuredClone(write);
    if (w.clearObjects) this.#objects = new Map();
    for (const ref of w.deleteObjects ?? []) this.#objects.delete(objectKey(ref));
    for (const o of w.putObjects ?? []) this.#objects.set(objectKey(o), o);
    if (w.replaceShadows) this.#shadows = new Map(w.replaceShadows.map((s) => [objectKey(s), s]));
    for (const s of w.addShadows ?? []) this.#shadows.set(objectKey(s), s);
    for (const seq of w.removePending ?? []) this.#pending.delete(seq);
    for (const p of w.appendPending ?? []) this.#pending.set(p.seq, p);
    if (w.state) this.#state = w.state;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
