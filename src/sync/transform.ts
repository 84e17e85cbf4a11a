/**
 * Operational transform of concurrent operations (TaskChampion's rules). Pure functions only.
 *
 * `server` is the operation already in the chain; `local` is a pending operation being rebased on
 * it. A transform never rewrites an operation: each side is either kept or dropped.
 */
import type { Operation } from '../contracts/replica.js';
import { jsonEqual, objectKey } from '../core/operations.js';

/** `[server', local']`: what remains of each operation once the other is applied first. */
export type Transformed = readonly [server: Operation | null, local: Operation | null];

/**
 * Transforms one pair:
 * Create/Create and Delete/Delete collapse; Create beats Delete; Update beats Create; Delete beats
 * Update; two Updates of the same property keep the later timestamp, a tie going to `server`
 * (equal values collapse). Operations on different objects or properties pass unchanged.
 */
export function transform(server: Operation, local: Operation): Transformed {
  if (server.collection !== local.collection || server.id !== local.id) return [server, local];
  switch (`${server.type}/${local.type}`) {
    case 'create/create':
    case 'delete/delete':
      return [null, null];
    case 'create/delete':
    case 'update/create':
    case 'delete/update':
      return [server, null];
    case 'delete/create':
    case 'create/update':
    case 'update/delete':
      return [null, local];
  }
  // update/update
  if (server.type !== 'update' || local.type !== 'update' || server.property !== local.property) {
    return [server, local];
  }
  if (jsonEqual(server.value, local.value)) return [null, null];
  return server.timestamp < local.timestamp ? [null, local] : [server, null];
}

/** A chain operation that a pending operation beat in a genuine conflict. */
export interface Overridden<T> {
  /** The chain (another replica's) operation whose effect the pending one replaces. */
  readonly server: Operation;
  /** The pending operation that won. */
  readonly by: T;
}

/** What {@link rebase} computed. */
export interface Rebased<T> {
  /** The local operations that survive, in their original order. */
  readonly kept: T[];
  /** The local operations that lost to (or collapsed with) a chain operation, in their order. */
  readonly dropped: T[];
  /**
   * The chain operations that a kept local operation overrode, in chain order: the conflicts this
   * replica won: only those where the kept operation discards something the other replica meant
   * (see `overrides` in this module for which outcomes count).
   */
  readonly overridden: Overridden<T>[];
}

/**
 * Whether `local` beating `server` (a transform that keeps `local` and drops `server`) discards
 * something the other replica meant: its update of a property we set later to another value, its
 * update of an object we deleted, or its delete of an object we (re)created. A Create dropped by a
 * local Update is no conflict: the object exists either way and the update applies on top of it.
 */
function overrides(server: Operation, local: Operation): boolean {
  if (server.type === 'update') return local.type === 'update' || local.type === 'delete';
  return server.type === 'delete' && local.type === 'create';
}

/**
 * Rebases `local` (pending operations, in order) on `server` (operations already in the chain, in
 * order), TaskChampion's way: each server operation is transformed past every local one in turn.
 * Returns the local operations that survive, in their original order, the ones dropped, and the
 * server operations a surviving local one overrode (a local operation that beats one server
 * operation and then loses to a later one overrode nothing: the chain's later operation decides).
 *
 * Operations of different objects never interact, so the work is grouped by object: linear in
 * the number of operations unless many of them hit the same object.
 */
export function rebase<T extends { readonly op: Operation }>(
  server: readonly Operation[],
  local: readonly T[],
): Rebased<T> {
  const localByObject = new Map<string, number[]>();
  local.forEach((item, i) => {
    const key = objectKey(item.op);
    const list = localByObject.get(key);
    if (list) list.push(i);
    else localByObject.set(key, [i]);
  });
  const dropped = new Set<number>();
  // Server operation, and the index of the local one that beat it, in chain order.
  const beaten: [Operation, number][] = [];
  for (const op of server) {
    const indexes = localByObject.get(objectKey(op));
    if (!indexes) continue;
    let svr: Operation | null = op;
    for (const i of indexes) {
      const item = local[i];
      if (!svr) break;
      if (!item || dropped.has(i)) continue;
      const [s, l] = transform(svr, item.op);
      if (!l) dropped.add(i);
      else if (!s && overrides(svr, item.op)) beaten.push([op, i]);
      svr = s;
    }
  }
  const kept: T[] = [];
  const out: T[] = [];
  local.forEach((item, i) => (dropped.has(i) ? out : kept).push(item));
  const overridden: Overridden<T>[] = [];
  for (const [op, i] of beaten) {
    const by = local[i];
    if (by && !dropped.has(i)) overridden.push({ server: op, by });
  }
  return { kept, dropped: out, overridden };
}
