/**
 * Keeps a QueryClient's chainsync queries fresh from the replica's change feed. Per change, it
 * works out exactly which queries show a changed object — the object's own query and the
 * collection and list queries of its collection — and updates only those: in place from the
 * changed objects when the query can derive its new data itself (its `meta` patcher), else by
 * invalidating that one query. A change to object A never touches object B's query.
 */
import type { Query, QueryClient } from '@tanstack/query-core';
import { InvalidArgumentError } from '../contracts/errors.js';
import { assertScope, chainsyncKeys, DEFAULT_SCOPE, parseQueryKey } from './keys.js';
import { assertQueryableReplica, PATCH_META_KEY, type ChangePatcher } from './options.js';
import type { QueryableReplica, QueryChangeEvent, QueryProperties } from './replica.js';

/** Options of {@link bindQueryClient}. */
export interface BindOptions {
  /** The scope the queries were made with (default `'default'`). */
  readonly scope?: string;
  /** Called when applying a change fails (default: `console.error`). The binding keeps running. */
  readonly onError?: (error: unknown) => void;
}

/** A running binding; see {@link bindQueryClient}. */
export interface ReplicaBinding {
  /** Resolves once every change announced so far shows in the cache. */
  settled(): Promise<void>;
  /** Stops following the replica. Calling it more than once is harmless. */
  dispose(): void;
}

/** How one cached query is affected by a change, and by which objects. */
interface Affected {
  readonly query: Query;
  readonly collection: string;
  readonly ids: ReadonlySet<string>;
}

/**
 * Binds `queryClient` to `replica`: local writes, other tabs' writes and pulled remote changes
 * update exactly the affected queries made by `replicaQueries(replica, { scope })`.
 */
export function bindQueryClient(
  queryClient: QueryClient,
  replica: QueryableReplica,
  options: BindOptions = {},
): ReplicaBinding {
  if (typeof (queryClient as Partial<QueryClient> | null)?.getQueryCache !== 'function') {
    throw new InvalidArgumentError('queryClient', 'expected a QueryClient from @tanstack/query-core.');
  }
  assertQueryableReplica(replica);
  const scope = options.scope ?? DEFAULT_SCOPE;
  assertScope(scope);
  const report =
    options.onError ?? ((error) => console.error('chainsync/query: a change was not applied', error));
  const onError = (error: unknown) => {
    try {
      report(error);
    } catch {
      // a throwing error handler must not stop the binding
    }
  };
  let disposed = false;
  let queue: Promise<void> = Promise.resolve();

  const apply = async (event: QueryChangeEvent): Promise<void> => {
    if (disposed) return;
    if (event.objects === 'all') {
      const everything = queryClient.getQueryCache().findAll({ queryKey: chainsyncKeys.all(scope) });
      await Promise.all(everything.map((query) => invalidateAfterFetch(queryClient, query)));
      return;
    }
    const affected = findAffected(queryClient, scope, event.objects);
    if (affected.length === 0) return;
    const toInvalidate: Query[] = [];
    let changed: Map<string, Map<string, QueryProperties | null>> | null = null;
    try {
      changed = await readChanged(replica, affected);
    } catch (error) {
      onError(error); // the refetch below reports the failure to the queries too
    }
    if (disposed) return;
    for (const a of affected) {
      const values = changed?.get(a.collection);
      if (!values || !patchInPlace(queryClient, a, values)) toInvalidate.push(a.query);
    }
    await Promise.all(toInvalidate.map((query) => invalidateAfterFetch(queryClient, query)));
  };

  const unsubscribe = replica.subscribe((event) => {
    queue = queue.then(() => apply(event)).catch(onError);
  });

  return {
    async settled() {
      let seen: Promise<void>;
      do {
        seen = queue;
        await seen;
      } while (seen !== queue);
    },
    dispose() {
      disposed = true;
      unsubscribe();
    },
  };
}

function findAffected(
  queryClient: QueryClient,
  scope: string,
  objects: readonly { collection: string; id: string }[],
): Affected[] {
  const idsByCollection = new Map<string, Set<string>>();
  for (const { collection, id } of objects) {
    let ids = idsByCollection.get(collection);
    if (!ids) idsByCollection.set(collection, (ids = new Set()));
    ids.add(id);
  }
  const cache = queryClient.getQueryCache();
  const affected: Affected[] = [];
  for (const [collection, ids] of idsByCollection) {
    for (const query of cache.findAll({ queryKey: chainsyncKeys.ofCollection(collection, scope) })) {
      const parsed = parseQueryKey(query.queryKey, scope);
      if (!parsed) continue;
      if (parsed.id === undefined)
        affected.push({ query, collection, ids }); // a collection or list
      else if (ids.has(parsed.id)) affected.push({ query, collection, ids: new Set([parsed.id]) });
    }
  }
  return affected;
}

/**
 * Invalidates one query so that it reads the data as of now. A fetch already in flight may have
 * read before the change, and TanStack would join it rather than start another when the query
 * has no data yet, so wait for that fetch to end first.
 */
async function invalidateAfterFetch(queryClient: QueryClient, query: Query): Promise<void> {
  if (query.state.fetchStatus === 'fetching') await query.promise?.catch(() => undefined);
  await queryClient.invalidateQueries({ queryKey: query.queryKey, exact: true });
}

/** Reads the changed objects that the affected queries show, once each. */
async function readChanged(
  replica: QueryableReplica,
  affected: readonly Affected[],
): Promise<Map<string, Map<string, QueryProperties | null>>> {
  const wanted = new Map<string, Set<string>>();
  for (const a of affected) {
    const ids = wanted.get(a.collection) ?? new Set<string>();
    for (const id of a.ids) ids.add(id);
    wanted.set(a.collection, ids);
  }
  const out = new Map<string, Map<string, QueryProperties | null>>();
  await Promise.all(
    [...wanted].map(async ([collection, ids]) => {
      const values = await Promise.all([...ids].map((id) => replica.get(collection, id)));
      out.set(collection, new Map([...ids].map((id, i) => [id, values[i] ?? null])));
    }),
  );
  return out;
}

/**
 * Derives the query's new data from the changed objects, if it safely can: the query has data,
 * no fetch in flight (its result could predate the change) and a patcher that accepts the data.
 * Returns false when the query must be invalidated instead.
 */
function patchInPlace(
  queryClient: QueryClient,
  affected: Affected,
  changed: ReadonlyMap<string, QueryProperties | null>,
): boolean {
  const { query } = affected;
  const patch = query.meta?.[PATCH_META_KEY] as ChangePatcher<unknown> | undefined;
  const { state } = query;
  if (typeof patch !== 'function' || state.status !== 'success' || state.isInvalidated) return false;
  if (state.fetchStatus === 'fetching') return false;
  const relevant = new Map([...affected.ids].map((id) => [id, changed.get(id) ?? null]));
  let next: unknown;
  try {
    next = patch(state.data, relevant);
  } catch {
    return false; // e.g. the validator refused the new data: let the query's own fetch report it
  }
  if (next !== state.data) queryClient.setQueryData(query.queryKey, next);
  return true;
}
