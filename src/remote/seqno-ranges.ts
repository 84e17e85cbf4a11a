import type { SeqNo } from '../contracts/consensus.js';

/**
 * A set of sequence numbers as ascending, disjoint, inclusive `[first, last]` runs: appends with
 * consecutive seqnos (the usual case) keep it at one run, so a head object can carry the set of
 * live seqnos without growing with the log.
 */
export type SeqNoRanges = ReadonlyArray<readonly [SeqNo, SeqNo]>;

/** `ranges` plus `seqno`, which must be greater than every member. */
export function appendSeqNo(ranges: SeqNoRanges, seqno: SeqNo): SeqNoRanges {
  const last = ranges[ranges.length - 1];
  if (last && last[1] + 1n === seqno) return [...ranges.slice(0, -1), [last[0], seqno]];
  return [...ranges, [seqno, seqno]];
}

/** The members ≥ `bound`. */
export function keepFrom(ranges: SeqNoRanges, bound: SeqNo): SeqNoRanges {
  const out: [SeqNo, SeqNo][] = [];
  for (const [first, last] of ranges) {
    if (last < bound) continue;
    out.push([first < bound ? bound : first, last]);
  }
  return out;
}

/** How many members. */
export function countSeqNos(ranges: SeqNoRanges): bigint {
  let n = 0n;
  for (const [first, last] of ranges) n += last - first + 1n;
  return n;
}

/** Up to `limit` members ≥ `from`, ascending. */
export function seqNosFrom(ranges: SeqNoRanges, from: SeqNo, limit: number): SeqNo[] {
  const out: SeqNo[] = [];
  for (const [first, last] of ranges) {
    for (let s = first < from ? from : first; s <= last && out.length < limit; s++) out.push(s);
    if (out.length >= limit) break;
  }
  return out;
}

/** Whether `seqno` is a member. */
export function hasSeqNo(ranges: SeqNoRanges, seqno: SeqNo): boolean {
  return ranges.some(([first, last]) => first <= seqno && seqno <= last);
}
