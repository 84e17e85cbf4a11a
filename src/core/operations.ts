/**
 * The replicated data model: objects identified by `(collection, id)`, each a map of JSON
 * properties, changed by three operations. Everything here is pure and validated.
 */
import { InvalidArgumentError } from '../contracts/errors.js';
import type { JsonValue, ObjectRef, Operation } from '../contracts/replica.js';
import { assertKey, assertTimestamp } from './validate.js';

/** Deepest nesting a property value may have; deeper values are refused (they cost stack). */
export const MAX_JSON_DEPTH = 64;

/** The map key of an object: unambiguous for any pair of strings. */
export function objectKey(ref: ObjectRef): string {
  return JSON.stringify([ref.collection, ref.id]);
}

/** Inverse of {@link objectKey}. */
export function parseObjectKey(key: string): ObjectRef {
  const [collection, id] = JSON.parse(key) as [string, string];
  return { collection, id };
}

/** Checks a collection name and object id. */
export function assertObjectRef(collection: unknown, id: unknown): void {
  assertKey(collection, 'collection');
  assertKey(id, 'id');
}

/** Checks a property name. */
export function assertProperty(property: unknown, argument = 'property'): asserts property is string {
  assertKey(property, argument);
}

/**
 * Checks that `value` is plain JSON (finite numbers, plain objects, arrays, no cycles, at most
 * {@link MAX_JSON_DEPTH} deep) so that every replica decodes exactly what was written.
 */
export function assertJsonValue(value: unknown, argument: string, depth = 0): asserts value is JsonValue {
  if (depth > MAX_JSON_DEPTH) {
    throw new InvalidArgumentError(argument, `is nested deeper than ${MAX_JSON_DEPTH} levels (or cyclic).`);
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new InvalidArgumentError(argument, `${value} is not representable in JSON; use a finite number.`);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJsonValue(item, `${argument}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new InvalidArgumentError(
        argument,
        `expected a plain object, array or primitive JSON value, got ${Object.prototype.toString.call(value).slice(8, -1)}.`,
      );
    }
    for (const [key, item] of Object.entries(value)) assertJsonValue(item, `${argument}.${key}`, depth + 1);
    return;
  }
  throw new InvalidArgumentError(argument, `${typeof value} is not a JSON value.`);
}

/** Checks a whole operation (as decoded from a segment or given by a caller). */
export function assertOperation(op: unknown, argument = 'operation'): asserts op is Operation {
  if (typeof op !== 'object' || op === null) {
    throw new InvalidArgumentError(argument, 'expected an operation object.');
  }
  const o = op as Record<string, unknown>;
  assertObjectRef(o.collection, o.id);
  if (o.type === 'create' || o.type === 'delete') return;
  if (o.type !== 'update') {
    throw new InvalidArgumentError(`${argument}.type`, `expected 'create', 'delete' or 'update'.`);
  }
  assertProperty(o.property, `${argument}.property`);
  assertTimestamp(o.timestamp, `${argument}.timestamp`);
  if (o.value !== undefined) assertJsonValue(o.value, `${argument}.value`);
}

/** Structural equality of JSON values (key order does not matter). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** A deep copy of a JSON value, so no caller can mutate stored data through a shared reference. */
export function copyJson<T extends JsonValue>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
