/**
 * How the replica's state moves when its base version moves: the heart of convergence.
 *
 * The working set is always `fold(chain up to base) + pending operations`. To move the base, the
 * engine rebuilds each affected object from its state at the base (its shadow, or the working copy
 * when it has none), applies the chain's operations exactly as every other replica does, rebases
 * the pending queue on them, and re-applies what survives. So once nobody has pending operations,
 * every replica holds the chain's fold: identical data by construction.
 *
 * Work is proportional to the versions applied (plus one pass over the queue when other replicas'
 * versions arrive), never to the size of the data set.
 */
import type { ObjectRef, Operation, Properties, StoredObject } from '../contracts/replica.js';
import type { Uuid } from '../contracts/storage.js';
import { jsonEqual, objectKey, parseObjectKey } from '../core/operations.js';
import type {
  PendingOperation,
  ReplicaState,
  ReplicaStore,
  ReplicaWrite,
  ShadowObject,
} from '../contracts/replica-store.js';
import { rebase, type Overridden } from './transform.js';
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
  /**
   * Other replicas' operations (from the versions applied, in chain order) that a pending operation
   * still kept overrode: the conflicts this replica won.
   */
  readonly overridden: Operation[];
}

type Objects = Map<string, Properties | null>;

/**
 * Computes the write that applies `steps` after the base. `nextState` receives the current state
 * (read here, so concurrent local writes' `nextSeq` is kept) and returns the new one.
 */
export async function advanceBase(
  store: ReplicaStore,
  steps: readonly ChainStep[],
  nextState: (state: ReplicaState) => ReplicaState,
): Promise<Advance> {
  const foreign = steps.some((s) => s.kind === 'foreign');
  const ownCount = steps.reduce((n, s) => n + (s.kind === 'own' ? s.count : 0), 0);
  const [state, loaded, total] = await Promise.all([
    store.readState(),
    // Only other replicas' versions need the whole queue (to rebase it); our own need the prefix.
    foreign ? store.getPending() : store.getPending(ownCount),
    store.countPending(),
  ]);

  if (!foreign && ownCount === total) {
    // The queue is all in the chain now: no object or shadow needs reading.
    const write = { removePending: loaded.map((p) => p.seq), clearShadows: true, state: nextState(state) };
    return { write, changed: [], dropped: [], overridden: [] };
  }
  const affected = new Set<string>();
  for (const step of steps)
    if (step.kind === 'foreign') for (const op of step.ops) affected.add(objectKey(op));
  for (const p of loaded.slice(0, ownCount)) affected.add(objectKey(p.op));
  const keys = [...affected];
  const refs = keys.map(parseObjectKey);
  const shadows = await store.getShadowsOf(refs);
  // Working copies are read where there is no shadow (an object no pending operation touches: its
  // base state is its working copy) and, when other replicas' operations arrive, for every object,
  // to tell what changed. Our own versions alone touch only objects that have shadows.
  const readKeys = foreign ? keys : keys.filter((_, i) => shadows[i] === undefined);
  const read = await store.getObjects(readKeys.map(parseObjectKey));
  const current: Objects = new Map(readKeys.map((k, i) => [k, read[i] ?? null]));
  const base = baseOf(keys, shadows, current);

  let pending = loaded;
  const dropped: PendingOperation[] = [];
  const won: Overridden<PendingOperation>[] = [];
  for (const step of steps) {
    if (step.kind === 'own') {
      for (const p of pending.slice(0, step.count)) apply(base, p.op);
      pending = pending.slice(step.count);
    } else {
      for (const op of step.ops) apply(base, op);
      const r = rebase(step.ops, pending);
      pending = r.kept;
      dropped.push(...r.dropped);
      won.push(...r.overridden);
    }
  }
  // A pending operation that won against one version and lost against a later one overrode nothing.
  const lost = new Set(dropped.map((p) => p.seq));
  const overridden = won.filter((o) => !lost.has(o.by.seq)).map((o) => o.server);
  const kept = new Set(pending.map((p) => p.seq));
  const removePending = loaded.filter((p) => !kept.has(p.seq)).map((p) => p.seq);
  const remaining = total - removePending.length;
  const putShadows = (k: string): ShadowObject => ({ ...parseObjectKey(k), properties: base.get(k) ?? null });
  const stateWrite = { removePending, state: nextState(state) };

  if (!foreign) {
    // Only our own operations reached the chain: the working set is already base + queue.
    return remaining === 0
      ? { write: { ...stateWrite, clearShadows: true }, changed: [], dropped, overridden }
      : { write: { ...stateWrite, putShadows: keys.map(putShadows) }, changed: [], dropped, overridden };
  }
  const { next, stillPending } = reapply(base, pending);
  const { putObjects, deleteObjects, changed } = diff(current, next);
  const shadowWrite: Partial<ReplicaWrite> =
    remaining === 0
      ? { clearShadows: true }
      : {
          putShadows: keys.filter((k) => stillPending.has(k)).map(putShadows),
          deleteShadows: keys.filter((k) => !stillPending.has(k)).map(parseObjectKey),
        };
  return {
    write: { ...stateWrite, putObjects, deleteObjects, ...shadowWrite },
    changed,
    dropped,
    overridden,
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
  const base: Objects = new Map(objects.map((o) => [objectKey(o), o.properties]));
  const shadowKeys = new Set(pending.map((p) => objectKey(p.op)));
  const putShadows: ShadowObject[] = [...shadowKeys].map((key) => ({
    ...parseObjectKey(key),
    properties: base.get(key) ?? null,
  }));
  for (const p of pending) apply(base, p.op);
  const putObjects: StoredObject[] = [];
  for (const [key, properties] of base)
    if (properties) putObjects.push({ ...parseObjectKey(key), properties });
  return {
    clearObjects: true,
    putObjects,
    clearShadows: true,
    putShadows,
    removePending,
    state: nextState(state),
  };
}

/**
 * Computes the write that discards the pending operations `seqs` (every one of them in `pending`,
 * the whole queue) and nothing else: each object they touch is rebuilt from its state at the base
 * (its shadow) with the operations still queued, as if the discarded ones had never been made.
 */
export async function withdrawPending(
  store: ReplicaStore,
  pending: readonly PendingOperation[],
  seqs: ReadonlySet<number>,
): Promise<{ write: ReplicaWrite; changed: ObjectRef[]; dropped: PendingOperation[] }> {
  const dropped = pending.filter((p) => seqs.has(p.seq));
  const remaining = pending.filter((p) => !seqs.has(p.seq));
  const keys = [...new Set(dropped.map((p) => objectKey(p.op)))];
  const refs = keys.map(parseObjectKey);
  const [shadows, read] = await Promise.all([store.getShadowsOf(refs), store.getObjects(refs)]);
  const current: Objects = new Map(keys.map((k, i) => [k, read[i] ?? null]));
  const { next, stillPending } = reapply(baseOf(keys, shadows, current), remaining);
  const { putObjects, deleteObjects, changed } = diff(current, next);
  const shadowWrite: Partial<ReplicaWrite> =
    remaining.length === 0
      ? { clearShadows: true }
      : { deleteShadows: keys.filter((k) => !stillPending.has(k)).map(parseObjectKey) };
  return {
    write: { putObjects, deleteObjects, removePending: dropped.map((p) => p.seq), ...shadowWrite },
    changed,
    dropped,
  };
}

/**
 * The new state after moving the base to `versionId` at `height`, over the versions `passed` (their
 * ids in chain order, ending with `versionId`; left out when a snapshot replaced the base).
 */
export function movedTo(
  versionId: Uuid,
  height: number,
  passed?: readonly Uuid[],
): (state: ReplicaState) => ReplicaState {
  return (state) => ({
    ...state,
    baseVersionId: versionId,
    baseHeight: height,
    inFlight: null,
    recentVersionIds: recentAfter(state, versionId, height, passed),
  });
}

/** Most version ids {@link ReplicaState.recentVersionIds} keeps. */
export const RECENT_VERSION_IDS = 32;

/**
 * The recent version ids once the base moved to `versionId` at `height` over `passed` (the ids of
 * the versions applied, in chain order, ending with `versionId`): the kept ones and `passed`, or
 * `passed` alone when the kept ones do not end where it starts (or were never kept). Without
 * `passed` (a snapshot replaced the base) they start afresh at `versionId`.
 */
function recentAfter(
  state: ReplicaState,
  versionId: Uuid,
  height: number,
  passed?: readonly Uuid[],
): readonly Uuid[] {
  const kept = state.recentVersionIds ?? [];
  if (passed === undefined || passed.at(-1) !== versionId || passed.length > height) {
    // Nothing applied (an empty landing) leaves them; anything else starts afresh.
    const unmoved = passed?.length === 0 && versionId === state.baseVersionId && height === state.baseHeight;
    return unmoved ? kept : [versionId];
  }
  const continues =
    state.baseHeight + passed.length === height &&
    (state.baseHeight === 0 ? kept.length === 0 : kept.at(-1) === state.baseVersionId);
  return (continues ? [...kept, ...passed] : passed).slice(-RECENT_VERSION_IDS);
}

/**
 * The objects `keys` as of the base: their shadow, or, for an object no pending operation touches
 * (it has none), its working copy.
 */
function baseOf(
  keys: readonly string[],
  shadows: readonly (ShadowObject | undefined)[],
  current: Objects,
): Objects {
  return new Map(
    keys.map((k, i) => [k, shadows[i] ? (shadows[i]?.properties ?? null) : (current.get(k) ?? null)]),
  );
}

/** `base` with the pending operations on its objects applied again, and which objects they touch. */
function reapply(
  base: Objects,
  pending: readonly PendingOperation[],
): { next: Objects; stillPending: Set<string> } {
  const next: Objects = new Map(base);
  const stillPending = new Set<string>();
  for (const p of pending) {
    const k = objectKey(p.op);
    if (!base.has(k)) continue;
    apply(next, p.op);
    stillPending.add(k);
  }
  return { next, stillPending };
}

function apply(objects: Objects, op: Operation): void {
  const key = objectKey(op);
  objects.set(key, applyOperation(objects.get(key) ?? null, op));
}

function diff(
  before: Objects,
  after: Objects,
): { putObjects: StoredObject[]; deleteObjects: ObjectRef[]; changed: ObjectRef[] } {
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
  return { putObjects, deleteObjects, changed };
}
