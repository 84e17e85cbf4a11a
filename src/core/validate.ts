/**
 * Argument checks shared by every implementation, so each contract rejects bad input the same way
 * (an InvalidArgumentError naming the argument) before anything is read or written.
 */
import { InvalidArgumentError } from '../contracts/errors.js';
import { MAX_KEY_BYTES } from '../contracts/common.js';
import { MAX_SEQNO, MIN_SEQNO, type SeqNo } from '../contracts/consensus.js';
import type { Uuid } from '../contracts/storage.js';
import type { ContentId, LeaseId } from '../contracts/blob-storage.js';

const encoder = new TextEncoder();

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  return `${typeof value} ${String(value)}`;
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

/** Bytes: a Uint8Array (not a Buffer subclass's lookalike, not an ArrayBuffer, not a string). */
export function assertBytes(
  value: unknown,
  argument = 'value',
  { nonEmpty = false }: { nonEmpty?: boolean } = {},
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(argument, `expected a Uint8Array, got ${describe(value)}.`);
  }
  if (nonEmpty && value.length === 0) {
    throw new InvalidArgumentError(
      argument,
      'must not be empty: an empty value is a tombstone. Use delete() or deleteWithVersion() to remove a key.',
    );
  }
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

/** A count or limit: a non-negative safe integer. */
export function assertCount(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(argument, `expected a non-negative integer, got ${describe(value)}.`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A UUID in canonical lowercase form. */
export function assertUuid(value: unknown, argument: string): asserts value is Uuid {
  if (typeof value !== 'string' || !UUID.test(value)) {
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
