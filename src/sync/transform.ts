/**
 * Operational transform of concurrent operations (TaskChampion's rules). Pure functions only.
 *
 * `server` is the operation already in the chain; `local` is a pending operation being rebased on
 * it. A transform never rewrites an operation: each side is either kept or dropped.
 */
import { jsonEqual, objectKey, type Operation } from './operations.js';

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

/**
 * Rebases `local` (pending operations, in order) on `server` (operations already in the chain, in
 * order), TaskChampion's way: each server operation is transformed past every local one in turn.
 * Returns the local operations that survive, in their original order, and the ones dropped.
 *
 * Operations of different objects never interact, so the work is grouped by object: linear in
 * the number of operations unless many of them hit the same object.
 */
export function rebase<T extends { readonly op: Operation }>(
  server: readonly Operation[],
  local: readonly T[],
): { kept: T[]; dropped: T[] } {
  const localByObject = new Map<string, number[]>();
  local.forEach((item, i) => {
    const key = objectKey(item.op);
    const list = localByObject.get(key);
    if (list) list.push(i);
    else localByObject.set(key, [i]);
  });
  const dropped = new Set<number>();
  for (const op of server) {
    const indexes = localByObject.get(objectKey(op));
    if (!indexes) continue;
    let svr: Operation | null = op;
    for (const i of indexes) {
      const item = local[i];
      if (!svr) break;
      if (!item || dropped.has(i)) continue;
      const [s, l] = transform(svr, item.op);
      svr = s;
      if (!l) dropped.add(i);
    }
  }
  const kept: T[] = [];
  const out: T[] = [];
  local.forEach((item, i) => (dropped.has(i) ? out : kept).push(item));
  return { kept, dropped: out };
}
