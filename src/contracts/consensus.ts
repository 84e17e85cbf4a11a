/** Sequence number of a Consensus write: an integer in exactly [0, 2^63 − 1]. */
export type SeqNo = bigint;

/** Smallest valid {@link SeqNo}. */
export const MIN_SEQNO: SeqNo = 0n;
/** Largest valid {@link SeqNo} (i64::MAX). */
export const MAX_SEQNO: SeqNo = 2n ** 63n - 1n;
/** A `limit` for {@link Consensus.scan} that returns everything. */
export const SCAN_ALL = Number.MAX_SAFE_INTEGER;

/** One version of the data under a Consensus key. */
export interface VersionedData {
  readonly seqno: SeqNo;
  readonly data: Uint8Array;
}

/** Outcome of {@link Consensus.compareAndSet}: a mismatch is a value, not an error. */
export type CaSResult = 'Committed' | 'ExpectationMismatch';

/**
 * A linearizable log per key (seed 002, Materialize's `Consensus`): writers agree on a total order
 * by appending with strictly increasing sequence numbers, each append conditional on the head.
 */
export interface Consensus {
  /** Every key ever created, ascending. */
  listKeys(): Promise<string[]>;
  /** The latest version under `key`, or `null` if nothing was ever written there. */
  head(key: string): Promise<VersionedData | null>;
  /**
   * Appends `next` iff the head's seqno is exactly `expected` (`null`: the key has no data).
   * Checks, in order: `next.seqno <= expected` and a seqno outside [0, 2^63 − 1] are
   * InvalidArgumentErrors; a head other than `expected` returns `'ExpectationMismatch'` (an absent
   * key stays absent); otherwise the append happens and `'Committed'` is returned.
   */
  compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult>;
  /** Up to `limit` versions with seqno ≥ `from`, ascending. Empty if the key is absent or `from` > head. */
  scan(key: string, from: SeqNo, limit?: number): Promise<VersionedData[]>;
  /**
   * Deletes the versions with seqno < `seqno`; the head always survives. Idempotent.
   * Returns how many were deleted.
   * @throws NotFoundError if the key has no data; InvalidArgumentError if `seqno` > head.
   */
  truncate(key: string, seqno: SeqNo): Promise<number>;
}
