/**
 * Query-option factories whose data comes from the local replica: no network wait, and they work
 * offline (`networkMode: 'always'`). They never go stale by time (`staleTime: Infinity`): a
 * {@link bindQueryClient} binding updates them when, and only when, their data changes.
 */
import type { DataTag, QueryKey, QueryMeta } from '@tanstack/query-core';
import { InvalidArgumentError } from '../contracts/errors.js';
import { assertKey } from '../core/validate.js';
import { assertCollection, type Collection, type CollectionItem, type JsonShape } from './collection.js';
import { assertScope, chainsyncKeys, DEFAULT_SCOPE } from './keys.js';
import type { QueryableReplica, QueryProperties } from './replica.js';

/**
 * Derives a query's next data from its previous data and the changed objects of its collection
 * (id → new properties, `null` when deleted). Returns `previous` itself when nothing it shows
 * changed. Kept in the query's `meta` so the binding can update the cache without a refetch.
 */
export type ChangePatcher<TData> = (
  previous: TData,
  changed: ReadonlyMap<string, QueryProperties | null>,
) => TData;

/** The `meta` key under which a chainsync query keeps its {@link ChangePatcher}. */
export const PATCH_META_KEY = 'chainsyncPatch';

/** Options for `QueryObserver`, `fetchQuery`, `useQuery`…, typed by their data. */
export interface ReplicaQueryOptions<TData, TKey extends QueryKey> {
  readonly queryKey: DataTag<TKey, TData, Error>;
  readonly queryFn: () => Promise<TData>;
  /** Infinity: the binding, not a timer, decides when the data changed. */
  readonly staleTime: number;
  /** The data is local: fetch offline too. */
  readonly networkMode: 'always';
  /** false: a local read that fails (e.g. the validator refused the data) fails at once, not after backoff. */
  readonly retry: false;
  readonly meta: QueryMeta;
}

/** How a filtered list selects and orders its items. */
export interface ListSpec<T> {
  /** Names the list in its query key (any JSON value): lists with different filters need different keys. */
  readonly key: unknown;
  /** Keeps the items for which it returns true (all when omitted). */
  readonly where?: (item: CollectionItem<T>) => boolean;
  /** Orders the items (ties, and no `sort`, order by id). */
  readonly sort?: (a: CollectionItem<T>, b: CollectionItem<T>) => number;
}

/** Options of {@link replicaQueries}. */
export interface ReplicaQueriesOptions {
  /** Tells replicas apart when one QueryClient serves several (default `'default'`). */
  readonly scope?: string;
}

/** The query-option factories of one replica; see {@link replicaQueries}. */
export interface ReplicaQueries {
  /** One object: its data, or `null` when it does not exist. */
  object<T extends JsonShape<T>>(
    collection: Collection<T>,
    id: string,
  ): ReplicaQueryOptions<T | null, readonly [string, string, string, 'object', string]>;
  /** Every object of the collection, ordered by id. */
  collection<T extends JsonShape<T>>(
    collection: Collection<T>,
  ): ReplicaQueryOptions<CollectionItem<T>[], readonly [string, string, string, 'collection']>;
  /** The objects of the collection that `spec.where` keeps, ordered by `spec.sort` (else by id). */
  list<T extends JsonShape<T>>(
    collection: Collection<T>,
    spec: ListSpec<T>,
  ): ReplicaQueryOptions<CollectionItem<T>[], readonly [string, string, string, 'list', unknown]>;
}

/**
 * Query-option factories reading from `replica`.
 *
 * @example
 * ```ts
 * const queries = replicaQueries(replica);
 * const observer = new QueryObserver(queryClient, queries.object(tasks, 't1')); // data: Task | null
 * ```
 */
export function replicaQueries(
  replica: QueryableReplica,
  options: ReplicaQueriesOptions = {},
): ReplicaQueries {
  assertQueryableReplica(replica);
  const scope = options.scope ?? DEFAULT_SCOPE;
  assertScope(scope);
  return {
    object(collection, id) {
      assertCollection(collection);
      assertKey(id, 'id');
      const read = (props: QueryProperties | null) => (props === null ? null : collection.parse(props, id));
      return build(
        chainsyncKeys.object(collection.name, id, scope),
        async () => read(await replica.get(collection.name, id)),
        (previous, changed) => (changed.has(id) ? read(changed.get(id) ?? null) : previous),
      );
    },
    collection(collection) {
      assertCollection(collection);
      return listQuery(replica, collection, chainsyncKeys.collection(collection.name, scope), {});
    },
    list(collection, spec) {
      assertCollection(collection);
      if (typeof spec !== 'object' || spec === null) {
        throw new InvalidArgumentError('spec', 'expected { key, where?, sort? }.');
      }
      if (spec.key === undefined) {
        throw new InvalidArgumentError('spec.key', 'name the list with a JSON value, e.g. { key: "open" }.');
      }
      for (const name of ['where', 'sort'] as const) {
        if (spec[name] !== undefined && typeof spec[name] !== 'function') {
          throw new InvalidArgumentError(`spec.${name}`, 'expected a function, or nothing.');
        }
      }
      return listQuery(replica, collection, chainsyncKeys.list(collection.name, spec.key, scope), spec);
    },
  };
}

function listQuery<T extends JsonShape<T>, TKey extends QueryKey>(
  replica: QueryableReplica,
  collection: Collection<T>,
  key: TKey,
  spec: Pick<ListSpec<T>, 'where' | 'sort'>,
): ReplicaQueryOptions<CollectionItem<T>[], TKey> {
  const { where, sort } = spec;
  const order = (a: CollectionItem<T>, b: CollectionItem<T>) => (sort?.(a, b) ?? 0) || compareIds(a.id, b.id);
  const keep = (item: CollectionItem<T>) => where?.(item) ?? true;
  return build(
    key,
    async () => {
      const stored = await replica.list(collection.name);
      const items = stored
        .map((o) => ({ id: o.id, data: collection.parse(o.properties, o.id) }))
        .filter(keep);
      return items.sort(order);
    },
    (previous, changed) => {
      let touched = false;
      const next = previous.filter((item) => {
        const stays = !changed.has(item.id);
        touched ||= !stays;
        return stays;
      });
      for (const [id, props] of changed) {
        if (props === null) continue;
        const item = { id, data: collection.parse(props, id) };
        if (keep(item)) {
          next.push(item);
          touched = true;
        }
      }
      return touched ? next.sort(order) : previous;
    },
  );
}

function build<TData, TKey extends QueryKey>(
  key: TKey,
  queryFn: () => Promise<TData>,
  patch: ChangePatcher<TData>,
): ReplicaQueryOptions<TData, TKey> {
  return {
    queryKey: key as DataTag<TKey, TData, Error>,
    queryFn,
    staleTime: Infinity,
    networkMode: 'always',
    retry: false,
    meta: { [PATCH_META_KEY]: patch },
  };
}

/** The replica's id order (UTF-16 code units, as IndexedDB and the memory store order keys). */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks that `replica` has the {@link QueryableReplica} methods. */
export function assertQueryableReplica(replica: unknown): asserts replica is QueryableReplica {
  const r = replica as Partial<Record<keyof QueryableReplica, unknown>> | null;
  const missing = (['get', 'list', 'change', 'subscribe', 'sync'] as const).filter(
    (m) => typeof r?.[m] !== 'function',
  );
  if (typeof r !== 'object' || r === null || missing.length > 0) {
    throw new InvalidArgumentError(
      'replica',
      `expected a replica (Replica.open(…) or the worker client); missing ${missing.join(', ') || 'everything'}.`,
    );
  }
}
