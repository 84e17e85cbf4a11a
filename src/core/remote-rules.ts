import type { ConditionalDelete, ConditionalPut } from '../contracts/remote-backend.js';
import { InvalidArgumentError, WeakETagError } from '../contracts/errors.js';
import { isWeakETag } from './http-semantics.js';
import { assertToken } from './validate.js';

/** Refuses a weak ETag as a CAS version, saying why. */
export function assertStrongVersion(version: string, argument: string): void {
  assertToken(version, argument);
  if (isWeakETag(version)) {
    throw new WeakETagError(
      `${argument} is the weak ETag ${version}. If-Match uses strong comparison (RFC 9110 §13.1.1), so a weak ` +
        'ETag can never match: compare-and-swap is impossible with it. Use a server that returns strong ETags.',
    );
  }
}

/** A {@link ConditionalPut}: exactly `{ ifAbsent: true }` or `{ ifVersion: <strong etag> }`. */
export function assertConditionalPut(condition: unknown): asserts condition is ConditionalPut {
  const c = condition as Record<string, unknown> | null;
  if (typeof c === 'object' && c !== null && c.ifAbsent === true && !('ifVersion' in c)) return;
  if (typeof c === 'object' && c !== null && 'ifVersion' in c && !('ifAbsent' in c)) {
    assertStrongVersion(c.ifVersion as string, 'condition.ifVersion');
    return;
  }
  throw new InvalidArgumentError('condition', 'expected { ifAbsent: true } or { ifVersion: <version> }.');
}

/** A {@link ConditionalDelete}: `{ ifVersion: <strong etag> }`. */
export function assertConditionalDelete(condition: unknown): asserts condition is ConditionalDelete {
  const c = condition as Record<string, unknown> | null;
  if (typeof c !== 'object' || c === null || !('ifVersion' in c)) {
    throw new InvalidArgumentError('condition', 'expected { ifVersion: <version> }.');
  }
  assertStrongVersion(c.ifVersion as string, 'condition.ifVersion');
}
