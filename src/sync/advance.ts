/**
 * How the replica's state moves when its base version moves: the heart of convergence.
 *
 * The working set is always `fold(chain up to base) + pending operations`. To move the base, the
 * engine rebuilds each touched object from its state at the base (its shadow, or the working copy
 * when no pending operation touches it), applies the chain's operations exactly as every other
 * replica does, rebases the pending queue on them, and re-applies what survives. So once nobody
 * has pending operations, every replica holds the chain's fold: identical data by construction.
 */
import type { Uuid } from '../contracts/storage.js';
import {
  jsonEqual,
  objectKey,
  parseObjectKey,
  type ObjectRef,
  type Operation,
  type Properties,
} from './operations.js';
import type {
  PendingOperation,
  ReplicaState,
  ReplicaStore,
  ReplicaWrite,
  ShadowObject,
  StoredObject,
} from './replica-store.js';
import { rebase } from './transform.js';
import { applyOperation } from './working-set.js';

/** One version applied on top of the base. */
export type ChainStep =
  /** Another replica's version: its operations, which the pending queue is rebased on. */
  | { readonly kind: 'foreign'; readonly ops: readonly Operation[] }
  /** This replica's own version: the first `count` pending operations, now in the chain. */
  | { readonly kind: 'own'; readonly count: number };

/** What advancing computed: the write to commit, and what it means for callers. */
export interface Advance {
  readonly write: ReplicaWrite;
  /** Objects whose working copy changed. */
  readonly changed: ObjectRef[];
  /** Pending operations that lost a conflict and were discarded. */
  readonly dropped: PendingOperation[];
}

/**
 * Computes the write that applies `steps` after the base. `nextState` receives the current state
 * (read here, so concurrent local writes' `nextSeq` is kept) and returns the new one.
 */
export async function advanceBase(
  store: ReplicaStore,
  steps: readonly ChainStep[],
  nextState: (state: ReplicaState) => ReplicaState,
): Promise<Advance> {
  const [state, shadows, pendingAll] = await Promise.all([
    store.readState(),
    store.getShadows(),
    store.getPending(),
  ]);
  const base = new Map<string, Properties | null>();
  for (const s of shadows) base.set(objectKey(s), s.properties);
  const touched = new Set(base.keys());
  for (const step of steps)
    if (step.kind === 'foreign') for (const op of step.ops) touched.add(objectKey(op));
  const current = await loadWorking(store, touched);
  for (const key of touched) if (!base.has(key)) base.set(key, current.get(key) ?? null);

  let pending = pendingAll;
  const dropped: PendingOperation[] = [];
  for (const step of steps) {
    if (step.kind === 'own') {
      for (const p of pending.slice(0, step.count)) apply(base, p.op);
      pending = pending.slice(step.count);
    } else {
      for (const op of step.ops) apply(base, op);
      const r = rebase(step.ops, pending);
      pending = r.kept;
      dropped.push(...r.dropped);
    }
  }
  const removed = new Set(pendingAll.map((p) => p.seq));
  for (const p of pending) removed.delete(p.seq);

  const working = new Map(base);
  for (const p of pending) apply(working, p.op);
  const write = diff(current, working);
  const shadowKeys = new Set(pending.map((p) => objectKey(p.op)));
  const replaceShadows: ShadowObject[] = [...shadowKeys].map((key) => ({
    ...parseObjectKey(key),
    properties: base.get(key) ?? null,
  }));
  return {
    write: { ...write.write, replaceShadows, removePending: [...removed], state: nextState(state) },
    changed: write.changed,
    dropped,
  };
}

/**
 * Computes the write that makes `objects` (a snapshot of the chain at some version) the new base,
 * keeping the pending operations on top of it, except the first `alreadyIncluded` (a push that
 * landed before the snapshot was made, so the snapshot holds them).
 */
export async function resetBase(
  store: ReplicaStore,
  objects: readonly StoredObject[],
  alreadyIncluded: number,
  nextState: (state: ReplicaState) => ReplicaState,
): Promise<ReplicaWrite> {
  const [state, all] = await Promise.all([store.readState(), store.getPending()]);
  const pending = all.slice(alreadyIncluded);
  const removePending = all.slice(0, alreadyIncluded).map((p) => p.seq);
  const base = new Map<string, Properties | null>(objects.map((o) => [objectKey(o), o.properties]));
  const shadowKeys = new Set(pending.map((p) => objectKey(p.op)));
  const shadows: ShadowObject[] = [...shadowKeys].map((key) => ({
    ...parseObjectKey(key),
    properties: base.get(key) ?? null,
  }));
  for (const p of pending) apply(base, p.op);
  const putObjects: StoredObject[] = [];
  for (const [key, properties] of base)
    if (properties) putObjects.push({ ...parseObjectKey(key), properties });
  return { clearObjects: true, putObjects, replaceShadows: shadows, removePending, state: nextState(state) };
}

/** The new state after moving the base to `versionId` at `height`. */
export function movedTo(versionId: Uuid, height: number): (state: ReplicaState) => ReplicaState {
  return (state) => ({ ...state, baseVersionId: versionId, baseHeight: height, inFlight: null });
}

function apply(objects: Map<string, Properties | null>, op: Operation): void {
  const key = objectKey(op);
  objects.set(key, applyOperation(objects.get(key) ?? null, op));
}

async function loadWorking(
  store: ReplicaStore,
  keys: Iterable<string>,
): Promise<Map<string, Properties | null>> {
  const list = [...keys];
  const values = await store.getObjects(list.map(parseObjectKey));
  return new Map(list.map((key, i) => [key, values[i] ?? null]));
}

function diff(
  before: Map<string, Properties | null>,
  after: Map<string, Properties | null>,
): { write: Pick<ReplicaWrite, 'putObjects' | 'deleteObjects'>; changed: ObjectRef[] } {
  const putObjects: StoredObject[] = [];
  const deleteObjects: ObjectRef[] = [];
  const changed: ObjectRef[] = [];
  for (const [key, properties] of after) {
    const old = before.get(key) ?? null;
    if (old === properties || (old && properties && jsonEqual(old, properties))) continue;
    const ref = parseObjectKey(key);
    changed.push(ref);
    if (properties) putObjects.push({ ...ref, properties });
    else if (old) deleteObjects.push(ref);
  }
  return { write: { putObjects, deleteObjects }, changed };
}
