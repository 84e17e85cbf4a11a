/**
 * Argument checks shared by every implementation, so each contract rejects bad input the same way
 * (an InvalidArgumentError naming the argument) before anything is read or written.
 */
import { InvalidArgumentError } from '../contracts/errors.js';
import { MAX_KEY_BYTES } from '../contracts/common.js';
import { MAX_SEQNO, MIN_SEQNO, type SeqNo } from '../contracts/consensus.js';
import type { CompactionPolicy, Uuid } from '../contracts/storage.js';
import type { ContentId, LeaseId } from '../contracts/blob-storage.js';
import type { KvOp } from '../contracts/cas-kv.js';

const encoder = new TextEncoder();

/** Says what `value` is, for a message. Never throws, whatever `value` is (a hostile Proxy included). */
function describe(value: unknown): string {
  try {
    if (value === null) return 'null';
    // Not "undefined undefined": a setting left out reads as what it is.
    if (value === undefined) return 'undefined (nothing was given)';
    if (typedArrayName(value) === 'Uint8Array') return `a Uint8Array of ${builtIn.length.call(value)} bytes`;
    if (typeof value === 'string')
      return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
    return `${typeof value} ${String(value)}`;
  } catch {
    return 'a value that cannot be inspected';
  }
}

function checkString(value: unknown, argument: string, allowEmpty: boolean): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(argument, `expected a string, got ${describe(value)}.`);
  }
  if (!allowEmpty && value.length === 0) {
    throw new InvalidArgumentError(argument, 'must not be empty.');
  }
  if (!value.isWellFormed()) {
    throw new InvalidArgumentError(argument, 'contains a lone UTF-16 surrogate; use well-formed Unicode.');
  }
  const bytes = encoder.encode(value).length;
  if (bytes > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(argument, `is ${bytes} UTF-8 bytes long; the limit is ${MAX_KEY_BYTES}.`);
  }
}

/** A key: a non-empty, well-formed string of at most {@link MAX_KEY_BYTES} UTF-8 bytes. */
export function assertKey(value: unknown, argument = 'key'): asserts value is string {
  checkString(value, argument, false);
}

/** A key prefix: like a key, but may be empty (meaning "everything"). */
export function assertPrefix(value: unknown, argument = 'prefix'): asserts value is string {
  checkString(value, argument, true);
}

// The built-in TypedArray machinery, taken once: checks made through it cannot be fooled by a
// Proxy, a replaced prototype or a subclass (`instanceof` and `value.length` can be).
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
function builtInGetter(name: PropertyKey): (this: unknown) => unknown {
  const get = Object.getOwnPropertyDescriptor(typedArrayPrototype, name)?.get;
  if (!get) throw new Error(`chainsync needs the standard TypedArray.prototype[${String(name)}]`);
  return get;
}
/** The TypedArray kind of a genuine one ('Uint8Array' for subclasses too); undefined for anything else. */
const typedArrayName = (value: unknown) =>
  builtInGetter(Symbol.toStringTag).call(value) as string | undefined;
/** The accessors code reads on a caller's array: each must be the built-in one. */
const VIEW_ACCESSORS = ['buffer', 'byteLength', 'byteOffset', 'length'] as const;
const builtIn = Object.fromEntries(VIEW_ACCESSORS.map((name) => [name, builtInGetter(name)])) as Record<
  (typeof VIEW_ACCESSORS)[number],
  (this: unknown) => unknown
>;
const builtInAt = (typedArrayPrototype as { at: (this: unknown, index: number) => unknown }).at;

/** True when `name` read on `array` reaches the built-in accessor (no subclass or own property hides it). */
function readsBuiltIn(array: object, name: (typeof VIEW_ACCESSORS)[number]): boolean {
  for (let o: object | null = array; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const own = Object.getOwnPropertyDescriptor(o, name);
    if (own) return own.get === builtIn[name];
  }
  return false;
}

/** Why `value` cannot be read as bytes, or null when it can. */
function bytesProblem(value: unknown): string | null {
  if (typedArrayName(value) !== 'Uint8Array') {
    // Not one: a Proxy or an object made from the prototype passes `instanceof`, but has no bytes.
    return value instanceof Uint8Array
      ? 'not a genuine Uint8Array (a Proxy, or an object made from Uint8Array.prototype): it holds no bytes. Pass a real Uint8Array.'
      : `expected a Uint8Array, got ${describe(value)}.`;
  }
  try {
    builtInAt.call(value, 0); // the built-in reads refuse a detached (or out-of-bounds) view
  } catch {
    return 'its ArrayBuffer is detached (it was transferred to a worker, or by structuredClone with `transfer`), or was resized below the bytes it views: there are no bytes to read. Pass bytes you still own.';
  }
  const redefined = VIEW_ACCESSORS.find((name) => !readsBuiltIn(value as object, name));
  if (redefined) {
    return `its ${redefined} is redefined (by a subclass or on the array itself), so its bytes cannot be read reliably. Pass a plain copy: new Uint8Array(value).`;
  }
  return null;
}

/**
 * Bytes: a genuine Uint8Array whose buffer is still attached and whose view accessors are the
 * built-in ones. Subclasses (Node's Buffer) qualify; copy them with core's `copyBytes`, never with
 * their own `slice` (Buffer's shares memory). Not an ArrayBuffer, a DataView, a string, a Proxy.
 */
export function assertBytes(value: unknown, argument = 'value'): asserts value is Uint8Array {
  let problem: string | null;
  try {
    problem = bytesProblem(value);
  } catch (error) {
    // A hostile Proxy or prototype can throw from any trap: that is bad input too, not a crash.
    let why = '';
    try {
      if (error instanceof Error) why = `: ${error.message}`;
    } catch {
      // the error is as hostile as the value: say nothing of it
    }
    problem = `could not be inspected (reading it threw${why}); pass a plain Uint8Array.`;
  }
  if (problem !== null) throw new InvalidArgumentError(argument, problem);
}

/** An opaque token (VersionToken, ObjectVersion): a non-empty string. */
export function assertToken(value: unknown, argument: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(
      argument,
      `expected a version token returned by an earlier call, got ${describe(value)}.`,
    );
  }
}

/** A SeqNo: a bigint in exactly [0, 2^63 − 1]. */
export function assertSeqNo(value: unknown, argument = 'seqno'): asserts value is SeqNo {
  if (typeof value !== 'bigint') {
    throw new InvalidArgumentError(argument, `expected a bigint SeqNo (e.g. 5n), got ${describe(value)}.`);
  }
  if (value < MIN_SEQNO || value > MAX_SEQNO) {
    throw new InvalidArgumentError(argument, `${value} is outside the SeqNo range [0, 2^63 - 1].`);
  }
}

/** True for a positive safe integer: a size, a timeout or a limit that was given. */
export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** A count or limit: a non-negative safe integer. */
export function assertCount(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(argument, `expected a non-negative integer, got ${describe(value)}.`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True for a UUID in canonical lowercase form. */
export function isUuid(value: unknown): value is Uuid {
  return typeof value === 'string' && UUID.test(value);
}

/** A UUID in canonical lowercase form. */
export function assertUuid(value: unknown, argument: string): asserts value is Uuid {
  if (!isUuid(value)) {
    throw new InvalidArgumentError(
      argument,
      `expected a lowercase UUID such as crypto.randomUUID() returns, got ${describe(value)}.`,
    );
  }
}

const CONTENT_ID = /^[0-9a-f]{64}$/;

/** A ContentId: 64 lowercase hex digits. */
export function assertContentId(value: unknown, argument = 'contentId'): asserts value is ContentId {
  if (typeof value !== 'string' || !CONTENT_ID.test(value)) {
    throw new InvalidArgumentError(
      argument,
      `expected a SHA-256 content id (64 lowercase hex digits, see contentIdOf()), got ${describe(value)}.`,
    );
  }
}

/** A pid: a non-empty string naming one live tab or worker instance. */
export function assertPid(value: unknown, argument = 'pid'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(argument, `expected a non-empty instance id, got ${describe(value)}.`);
  }
}

/** A LeaseId: `{ id, pid }`, both non-empty strings. */
export function assertLeaseId(value: unknown, argument = 'lease'): asserts value is LeaseId {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(argument, `expected { id, pid }, got ${describe(value)}.`);
  }
  const { id, pid } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidArgumentError(`${argument}.id`, `expected a non-empty string, got ${describe(id)}.`);
  }
  assertPid(pid, `${argument}.pid`);
}

/** A non-negative finite timestamp in milliseconds. */
export function assertTimestamp(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(
      argument,
      `expected milliseconds since the epoch, got ${describe(value)}.`,
    );
  }
}

/** A listener passed to a `subscribe`-style method: it must be a function, caught when subscribing. */
export function assertListener(
  value: unknown,
  argument = 'listener',
): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new InvalidArgumentError(argument, 'expected a function.');
}

/**
 * The operations of a `BatchCasKv.batch`: an array of well-formed {@link KvOp}s. Checked whole
 * before any is applied, on the main thread as in the worker.
 */
export function assertKvOps(ops: unknown): asserts ops is readonly KvOp[] {
  if (!Array.isArray(ops)) throw new InvalidArgumentError('ops', 'expected an array of operations.');
  ops.forEach(assertKvOp);
}

function assertKvOp(op: unknown, index: number): void {
  if (typeof op !== 'object' || op === null) {
    throw new InvalidArgumentError(`ops[${index}]`, 'expected { op, key, … }.');
  }
  const o = op as Record<string, unknown>;
  assertKey(o.key);
  switch (o.op) {
    case 'put':
    case 'create':
      assertBytes(o.value, 'value');
      return;
    case 'update':
      assertBytes(o.value, 'value');
      assertToken(o.expected, 'expected');
      return;
    case 'delete':
      return;
    case 'deleteWithVersion':
      assertToken(o.expected, 'expected');
      return;
    default:
      throw new InvalidArgumentError(
        `ops[${index}].op`,
        `expected put, create, update, delete or deleteWithVersion, got ${JSON.stringify(o.op)}.`,
      );
  }
}

/**
 * A compaction policy (`ReplicaOptions.compaction`, `Storage.compact`): an object whose
 * `keepCommits` and `keepDays`, when given, are whole numbers of at least 0 and `maxDeletes` of at
 * least 1.
 */
export function assertCompactionPolicy(value: unknown, argument: string): asserts value is CompactionPolicy {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(
      argument,
      `expected { keepCommits?, keepDays?, maxDeletes? }, got ${describe(value)}.`,
    );
  }
  const policy = value as Record<string, unknown>;
  for (const [name, min] of [
    ['keepCommits', 0],
    ['keepDays', 0],
    ['maxDeletes', 1],
  ] as const) {
    const v = policy[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)) {
      throw new InvalidArgumentError(
        `${argument}.${name}`,
        `expected a whole number of at least ${min}, got ${describe(v)}.`,
      );
    }
  }
}
