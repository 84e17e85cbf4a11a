/**
 * Typed collections: a name plus the TypeScript type of its objects (and, optionally, a runtime
 * validator), so query data and mutations are typed end to end.
 */
import { assertKey } from '../core/validate.js';
import { InvalidArgumentError } from '../contracts/errors.js';
import type { QueryJsonValue, QueryProperties } from './replica.js';

/** Object types a collection may hold: every property a JSON value (optional ones allowed). */
export type JsonShape<T> = { [K in keyof T]: QueryJsonValue | undefined };

/** Checks stored properties and returns them typed; throws to reject them. */
export type CollectionValidator<T> = (properties: QueryProperties, id: string) => T;

/** A named collection whose objects have type `T`. Create one with {@link defineCollection}. */
export interface Collection<T extends JsonShape<T>> {
  readonly name: string;
  /** Turns stored properties into a `T`: runs the validator, or trusts the data without one. */
  readonly parse: CollectionValidator<T>;
  /** Whether {@link Collection.parse} checks anything (a validator was given). */
  readonly validated: boolean;
}

/** One object of a collection with its id, as collection and list queries return it. */
export interface CollectionItem<T> {
  readonly id: string;
  readonly data: T;
}

/** The object type of a collection. */
export type CollectionData<C> = C extends Collection<infer T> ? T : never;

/**
 * Declares a typed collection.
 *
 * @param name - the replica's collection name (a non-empty key).
 * @param validate - optional runtime check of data read from the replica (it may come from other
 *   replicas or older app versions) and of objects created through the mutation helpers; throw
 *   to reject. Without it the data is trusted to have type `T`.
 * @example
 * ```ts
 * interface Task { title: string; done: boolean }
 * const tasks = defineCollection<Task>('tasks');
 * ```
 */
export function defineCollection<T extends JsonShape<T>>(
  name: string,
  validate?: CollectionValidator<T>,
): Collection<T> {
  assertKey(name, 'name');
  if (validate !== undefined && typeof validate !== 'function') {
    throw new InvalidArgumentError('validate', 'expected a function (properties, id) => T, or nothing.');
  }
  const parse: CollectionValidator<T> = validate ?? ((properties) => properties as unknown as T);
  return Object.freeze({ name, parse, validated: validate !== undefined });
}

/** Checks that `value` is a collection made by {@link defineCollection}. */
export function assertCollection(value: unknown, argument = 'collection'): void {
  const c = value as Partial<Collection<Record<string, QueryJsonValue>>> | null;
  if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || typeof c.parse !== 'function') {
    throw new InvalidArgumentError(argument, "expected a collection from defineCollection<T>('name').");
  }
}
