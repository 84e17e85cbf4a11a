/**
 * The query-key scheme. Keys are hierarchical, so one prefix reaches exactly what a change
 * affects:
 *
 * ```
 * ['chainsync', scope]                                   everything of one replica
 * ['chainsync', scope, collection]                       every query of one collection
 * ['chainsync', scope, collection, 'collection']         the whole collection
 * ['chainsync', scope, collection, 'list', listKey]      a filtered list
 * ['chainsync', scope, collection, 'object', id]         one object
 * ```
 *
 * `scope` tells replicas apart when one QueryClient serves several data sets.
 */
import { assertKey } from '../core/validate.js';

/** The first element of every chainsync query key. */
export const KEY_ROOT = 'chainsync';

/** The scope used when none is given. */
export const DEFAULT_SCOPE = 'default';

/** What kind of query a key names (its fourth element). */
export type QueryKind = 'collection' | 'list' | 'object';

/** Query keys of one scope. */
export const chainsyncKeys = {
  /** Every query of the scope's replica. */
  all: (scope: string = DEFAULT_SCOPE) => [KEY_ROOT, scope] as const,
  /** Every query of one collection (its objects, lists and the collection itself). */
  ofCollection: (collection: string, scope: string = DEFAULT_SCOPE) => [KEY_ROOT, scope, collection] as const,
  /** The query of a whole collection. */
  collection: (collection: string, scope: string = DEFAULT_SCOPE) =>
    [KEY_ROOT, scope, collection, 'collection'] as const,
  /** A filtered list of a collection, named by `listKey` (any JSON value). */
  list: (collection: string, listKey: unknown, scope: string = DEFAULT_SCOPE) =>
    [KEY_ROOT, scope, collection, 'list', listKey] as const,
  /** One object. */
  object: (collection: string, id: string, scope: string = DEFAULT_SCOPE) =>
    [KEY_ROOT, scope, collection, 'object', id] as const,
};

/** Checks a scope name (a non-empty key). */
export function assertScope(scope: unknown): asserts scope is string {
  assertKey(scope, 'options.scope');
}

/** Reads the parts of a chainsync query key of `scope`, or `null` if the key is not one. */
export function parseQueryKey(
  key: readonly unknown[],
  scope: string,
): { collection: string; kind: QueryKind; id?: string } | null {
  if (key[0] !== KEY_ROOT || key[1] !== scope || typeof key[2] !== 'string') return null;
  const kind = key[3];
  if (kind === 'object') return typeof key[4] === 'string' ? { collection: key[2], kind, id: key[4] } : null;
  if (kind === 'collection' || kind === 'list') return { collection: key[2], kind };
  return null;
}
