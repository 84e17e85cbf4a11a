/**
 * Mutation options that write through the replica. The replica applies a write at once (the
 * optimistic update) and its sync rebases it on what other replicas did; the binding shows both
 * moments. So there is no hand-written `onMutate` snapshot and no rollback: if a write loses a
 * conflict, the sync's change event puts the winner into every affected query.
 */
import type { MutationKey } from '@tanstack/query-core';
import { ChainsyncError, InvalidArgumentError } from '../contracts/errors.js';
import { assertKey } from '../core/validate.js';
import { assertCollection, type Collection, type JsonShape } from './collection.js';
import { assertScope, DEFAULT_SCOPE, KEY_ROOT } from './keys.js';
import { assertQueryableReplica } from './options.js';
import type { QueryableReplica, QueryJsonValue, QueryReplicaChange } from './replica.js';

/** Options for `MutationObserver`, `useMutation`, `executeMutation`…, typed by their variables. */
export interface ReplicaMutationOptions<TVariables> {
  readonly mutationKey: MutationKey;
  readonly mutationFn: (variables: TVariables) => Promise<void>;
  /** Local writes need no network. */
  readonly networkMode: 'always';
}

/** Variables of a create mutation. */
export interface CreateVariables<T> {
  readonly id: string;
  readonly data: T;
}

/** Variables of an update mutation: the properties to set (`undefined` removes an optional one). */
export interface UpdateVariables<T> {
  readonly id: string;
  readonly set: Partial<T>;
}

/** Variables of a delete mutation. */
export interface DeleteVariables {
  readonly id: string;
}

/** Options of {@link replicaMutations}. */
export interface ReplicaMutationsOptions {
  /** The scope of the queries (default `'default'`); it prefixes the mutation keys. */
  readonly scope?: string;
  /**
   * The binding of the QueryClient, if any: a mutation then resolves only once the affected
   * queries show the write, so `await mutateAsync(…)` followed by a read sees it.
   */
  readonly binding?: { settled(): Promise<void> };
}

/** The mutation-option factories of one replica; see {@link replicaMutations}. */
export interface ReplicaMutations {
  /** Creates an object. Fails with `ALREADY_EXISTS` (nothing changed) if it exists. */
  create<T extends JsonShape<T>>(collection: Collection<T>): ReplicaMutationOptions<CreateVariables<T>>;
  /** Sets properties of an object. Fails with `NOT_FOUND` (nothing changed) if it does not exist. */
  update<T extends JsonShape<T>>(collection: Collection<T>): ReplicaMutationOptions<UpdateVariables<T>>;
  /** Deletes an object (nothing happens if it does not exist). */
  delete<T extends JsonShape<T>>(collection: Collection<T>): ReplicaMutationOptions<DeleteVariables>;
  /** Applies several changes, to any collections, all or nothing. */
  change(): ReplicaMutationOptions<readonly QueryReplicaChange[]>;
}

/**
 * Mutation-option factories writing through `replica`.
 *
 * @example
 * ```ts
 * const mutations = replicaMutations(replica, { binding });
 * await new MutationObserver(queryClient, mutations.update(tasks)).mutate({ id: 't1', set: { done: true } });
 * ```
 */
export function replicaMutations(
  replica: QueryableReplica,
  options: ReplicaMutationsOptions = {},
): ReplicaMutations {
  assertQueryableReplica(replica);
  const scope = options.scope ?? DEFAULT_SCOPE;
  assertScope(scope);
  const { binding } = options;
  if (binding !== undefined && typeof binding?.settled !== 'function') {
    throw new InvalidArgumentError(
      'options.binding',
      'expected the result of bindQueryClient(…), or nothing.',
    );
  }
  const write = async (changes: readonly QueryReplicaChange[]) => {
    await replica.change(changes);
    await binding?.settled();
  };
  const make = <V>(key: MutationKey, toChanges: (variables: V) => QueryReplicaChange[]) => ({
    mutationKey: [KEY_ROOT, scope, ...key],
    mutationFn: (variables: V) => write(toChanges(variables)),
    networkMode: 'always' as const,
  });
  const idOf = (variables: { id: string } | null | undefined) => {
    if (typeof variables !== 'object' || variables === null) {
      throw new InvalidArgumentError('variables', 'expected an object with the id of the object.');
    }
    assertKey(variables.id, 'variables.id');
    return variables.id;
  };

  return {
    create(collection) {
      assertCollection(collection);
      return make([collection.name, 'create'], (v) => {
        const id = idOf(v);
        if (collection.validated) validateNew(collection, v.data, id);
        return [{ type: 'create', collection: collection.name, id, properties: asProperties(v.data) }];
      });
    },
    update(collection) {
      assertCollection(collection);
      return make([collection.name, 'update'], (v) => [
        {
          type: 'update',
          collection: collection.name,
          id: idOf(v),
          properties: asProperties(v.set, 'variables.set'),
        },
      ]);
    },
    delete(collection) {
      assertCollection(collection);
      return make([collection.name, 'delete'], (v) => [
        { type: 'delete', collection: collection.name, id: idOf(v) },
      ]);
    },
    change() {
      return make(['change'], (changes) => {
        if (!Array.isArray(changes))
          throw new InvalidArgumentError('variables', 'expected an array of changes.');
        return changes;
      });
    },
  };
}

function asProperties(value: unknown, argument = 'variables.data'): Record<string, QueryJsonValue> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(argument, 'expected an object of property values.');
  }
  return value as Record<string, QueryJsonValue>;
}

function validateNew<T extends JsonShape<T>>(collection: Collection<T>, data: T, id: string): void {
  try {
    collection.parse(asProperties(data), id);
  } catch (error) {
    if (error instanceof ChainsyncError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(
      'variables.data',
      `collection ${JSON.stringify(collection.name)}'s validator refused it (${reason}); nothing was written.`,
      { cause: error },
    );
  }
}
