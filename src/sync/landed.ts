/**
 * Which plans of each replica have landed: the record that lets a replica with a push in flight
 * learn its fate after the versions of that push were compacted away (issue 12, item 3; the
 * design and its argument are in docs/compaction.md).
 *
 * Every version a replica pushes carries its author: the replica's id and the `seq` of the first
 * pending operation it carries. Folding the chain keeps, per replica, the highest such seq. A
 * replica pushes its queue in order, only its current plan can still land, and each version of a
 * plan is the parent of the next; so a version of the plan in flight has landed at or before a
 * version exactly when the record there holds a seq at least its `firstSeq`.
 */
import type { InFlightPush, LandedPlans, PushedVersion, ReplicaState } from '../contracts/replica-store.js';
import type { Uuid } from '../contracts/storage.js';
import { isUuid } from '../core/validate.js';

/** Who pushed a version: a replica, and the seq of the first operation the version carries. */
export interface SegmentAuthor {
  readonly replicaId: Uuid;
  readonly firstSeq: number;
}

/** An empty record, complete from `height` on (nothing at or below it is known). */
export function landedFrom(height: number): LandedPlans {
  return { from: height, seqs: {} };
}

/**
 * The record of `state` as of its base. A state written before the record existed has none: it is
 * complete from the base on (what was folded before is unknown).
 */
export function landedOf(state: ReplicaState): LandedPlans {
  return state.landed ?? landedFrom(state.baseHeight);
}

/** `record` with the authors of the versions applied after its version folded in (unknown ones skipped). */
export function foldLanded(record: LandedPlans, authors: readonly (SegmentAuthor | null)[]): LandedPlans {
  let seqs = record.seqs;
  for (const author of authors) {
    if (!author || (seqs[author.replicaId] ?? 0) >= author.firstSeq) continue;
    seqs = { ...seqs, [author.replicaId]: author.firstSeq };
  }
  return seqs === record.seqs ? record : { from: record.from, seqs };
}

/** The authors of versions `versions` of `push` (none when the plan predates replica ids). */
export function authorsOf(push: InFlightPush, versions: readonly PushedVersion[]): (SegmentAuthor | null)[] {
  const { replicaId } = push;
  return versions.map((v) => (replicaId ? { replicaId, firstSeq: v.firstSeq } : null));
}

/**
 * Whether a version of `push` (planned on a base at `baseHeight`) is among those `record` counts,
 * or `null` when the record cannot tell: the plan carries no replica id (an earlier release planned
 * it), or the record is not complete down to the plan's base (it started from a snapshot written
 * before the record existed, above that base).
 */
export function landedIn(
  record: LandedPlans,
  push: InFlightPush,
  baseHeight: number,
): ((version: PushedVersion) => boolean) | null {
  const { replicaId } = push;
  if (!replicaId || record.from > baseHeight) return null;
  const seq = record.seqs[replicaId] ?? 0;
  return (version) => seq >= version.firstSeq;
}

/** A positive safe integer: a pending operation's seq. */
export function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Checks a record read from a remote snapshot of height `height`; throws a TypeError if malformed. */
export function checkLanded(value: unknown, height: number): LandedPlans {
  const record = value as { f?: unknown; s?: unknown } | null;
  const from = record?.f;
  const seqs = record?.s;
  if (
    typeof from !== 'number' ||
    !Number.isSafeInteger(from) ||
    from < 0 ||
    from > height ||
    typeof seqs !== 'object' ||
    seqs === null ||
    Array.isArray(seqs)
  ) {
    throw new TypeError('landed-plans record is malformed');
  }
  const out: Record<Uuid, number> = {};
  for (const [id, seq] of Object.entries(seqs)) {
    if (!isUuid(id) || !isSeq(seq)) throw new TypeError('landed-plans entry is malformed');
    out[id] = seq;
  }
  return { from, seqs: out };
}

/** The record as a snapshot body carries it. */
export function encodeLanded(record: LandedPlans): { f: number; s: Record<Uuid, number> } {
  return { f: record.from, s: { ...record.seqs } };
}
