import type { SeqNo } from '../contracts/consensus.js';
import { InvalidArgumentError } from '../contracts/errors.js';
import { assertBytes, assertKey, assertSeqNo } from './validate.js';

/**
 * The argument checks of `compareAndSet`, in the contract's order: the key, the types, then
 * `next.seqno <= expected`, then the SeqNo range. Shared by every implementation.
 */
export function validateCompareAndSet(key: unknown, expected: unknown, next: unknown): void {
  assertKey(key);
  if (expected !== null) assertSeqNo(expected, 'expected');
  if (typeof next !== 'object' || next === null) {
    throw new InvalidArgumentError('next', 'expected { seqno: bigint, data: Uint8Array }.');
  }
  const { seqno, data } = next as Record<string, unknown>;
  if (typeof seqno !== 'bigint') {
    throw new InvalidArgumentError('next.seqno', `expected a bigint SeqNo, got ${typeof seqno}.`);
  }
  assertBytes(data, 'next.data');
  if (expected !== null && seqno <= (expected as bigint)) {
    throw new InvalidArgumentError(
      'next.seqno',
      `${seqno} must be greater than the expected seqno ${String(expected)}: sequence numbers only increase.`,
    );
  }
  assertSeqNo(seqno, 'next.seqno');
}

/** `truncate` may not remove the head: its bound must be ≤ the head's seqno. */
export function assertTruncateBound(seqno: SeqNo, head: SeqNo): void {
  if (seqno > head) {
    throw new InvalidArgumentError('seqno', `${seqno} is beyond the head ${head}; truncate keeps the head.`);
  }
}
