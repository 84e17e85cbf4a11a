/**
 * How big one version may be, and what fits in one: the push planner splits the queue by encoded
 * size as well as by count, the replica refuses at write time an operation that could never fit,
 * and an operation that fits no more (the remote's limit became known after it was written) is
 * named, so the application can discard it instead of the queue jamming forever.
 *
 * Sizes are counted without encoding whole versions: the segment body is JSON whose size is the
 * sum of its operations' ({@link encodedOperationBytes}), and gzip never grows it by more than
 * {@link segmentBound} allows. Only an operation whose bound alone is over a limit is encoded, to
 * learn how far gzip really shrinks it.
 */
import type { Operation } from '../contracts/replica.js';
import type { PendingOperation } from '../contracts/replica-store.js';
import {
  InvalidArgumentError,
  OperationsStuckError,
  OperationTooLargeError,
  type OversizedOperation,
  type StuckOperation,
} from '../contracts/errors.js';
import { SEAL_OVERHEAD_BYTES } from './crypto.js';
import { encodedOperationBytes, encodeSegment, LONGEST_AUTHOR, SEGMENT_BODY_OVERHEAD } from './segments.js';

/**
 * Default `maxVersionBytes`: 4 MiB, well under the reference server's default body limit, and far
 * above any value that belongs in a property rather than in a blob.
 */
export const DEFAULT_MAX_VERSION_BYTES = 4 * 1024 * 1024;

/** The smallest `maxVersionBytes` accepted: room for a segment's header and small operations. */
export const MIN_MAX_VERSION_BYTES = 1024;

/** A limit on the encoded size of one version, and where it comes from (for messages). */
export interface VersionLimit {
  readonly bytes: number;
  readonly source: string;
}

/** Room for gzip's output varying by a few bytes with the version ids and height it encodes. */
const MARGIN = 64;

/** Checks a `maxVersionBytes` option; throws INVALID_ARGUMENT naming `argument`. */
export function assertMaxVersionBytes(value: unknown, argument: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_MAX_VERSION_BYTES) {
    throw new InvalidArgumentError(
      argument,
      `expected a whole number of bytes of at least ${MIN_MAX_VERSION_BYTES} (default ${DEFAULT_MAX_VERSION_BYTES}), got ${String(value)}.`,
    );
  }
}

/**
 * At least the encoded size of a version whose operations add `opBytes` to its body: the
 * envelope's format and compression bytes, the seal's IV and tag, and the body, which gzip grows
 * by far less than 1/1024 plus its header when it cannot shrink it.
 */
export function segmentBound(opBytes: number, sealed: boolean): number {
  const body = SEGMENT_BODY_OVERHEAD + opBytes;
  return 2 + (sealed ? SEAL_OVERHEAD_BYTES : 0) + body + (body >>> 10) + MARGIN;
}

/**
 * The size of the smallest version that carries `op` when that is over `limit` bytes, else
 * `null`. Only an operation whose bound is over the limit is encoded (gzip may shrink it enough).
 */
export async function oversizedBytes(op: Operation, sealed: boolean, limit: number): Promise<number | null> {
  if (segmentBound(encodedOperationBytes(op), sealed) <= limit) return null;
  const place = {
    clientId: crypto.randomUUID(),
    versionId: crypto.randomUUID(),
    parentVersionId: crypto.randomUUID(),
    height: Number.MAX_SAFE_INTEGER,
  };
  const plain = await encodeSegment({ key: null }, place, [op], LONGEST_AUTHOR);
  const bytes = plain.length + (sealed ? SEAL_OVERHEAD_BYTES : 0) + MARGIN;
  return bytes > limit ? bytes : null;
}

/** What an error says of an operation too big for one version. */
export function oversized(op: Operation, bytes: number): OversizedOperation {
  const { type, collection, id } = op;
  return op.type === 'update'
    ? { type, collection, id, property: op.property, bytes }
    : { type, collection, id, bytes };
}

function describe(op: OversizedOperation): string {
  const object = `object ${JSON.stringify(op.id)} of collection ${JSON.stringify(op.collection)}`;
  return op.property === undefined
    ? `the ${op.type} of ${object}`
    : `property ${JSON.stringify(op.property)} of ${object}`;
}

const USE_BLOBS =
  'Store large values as blobs: put the bytes with putBlob() and the reference it returns in the property.';

/** The write-time refusal of `op`, whose version alone would be `bytes` long. */
export function operationTooLarge(op: Operation, bytes: number, limit: VersionLimit): OperationTooLargeError {
  const what = oversized(op, bytes);
  const text = describe(what);
  return new OperationTooLargeError(
    `${text.charAt(0).toUpperCase()}${text.slice(1)} would make a version of ${bytes} bytes, over the limit of ${limit.bytes} bytes per version (${limit.source}). ${USE_BLOBS} Nothing was changed.`,
    limit.bytes,
    what,
  );
}

/** The sync error naming the pending operations that cannot be pushed under `limit`. */
export function operationsStuck(
  stuck: readonly StuckOperation[],
  limit: VersionLimit,
  options?: ErrorOptions,
): OperationsStuckError {
  const list = stuck.map((s) => `#${s.seq} (${describe(s)}, ${s.bytes} bytes)`).join(', ');
  const seqs = stuck.map((s) => s.seq).join(', ');
  return new OperationsStuckError(
    `${stuck.length} pending operation(s) cannot be pushed: each alone makes a version over the limit of ${limit.bytes} bytes (${limit.source}), learned after they were written: ${list}. What came before them was pushed and nothing is lost, but nothing after them can be pushed while they wait. Discard them with discardPending([${seqs}]) (they are reported as dropped), then sync again. ${USE_BLOBS}`,
    limit.bytes,
    stuck,
    options,
  );
}

/** How {@link planVersions} may split the queue. */
export interface PlanLimits {
  /** Most operations per version. */
  readonly maxOps: number;
  /** Most versions per plan. */
  readonly maxVersions: number;
  /** The encoded size versions are planned under (at most `limit`; lower after a refusal). */
  readonly target: number;
  /** The most one version may carry: an operation over it alone is stuck. */
  readonly limit: number;
  readonly sealed: boolean;
}

/** How the head of the queue splits into versions. */
export interface VersionPlan {
  /** Operations per version, in queue order (they carry the head of the queue). */
  readonly counts: number[];
  /** When `counts` is empty: the operations of the window that fit in no version under the limit. */
  readonly stuck: StuckOperation[];
}

/**
 * Splits the head of `pending` into versions of at most `maxOps` operations whose encoded size is
 * at most `target` (an operation over `target` that fits under `limit` goes alone). Planning stops
 * before the first operation that fits in no version: when it heads the queue, nothing is planned
 * and `stuck` names it and every other such operation of `pending`.
 */
export async function planVersions(
  pending: readonly PendingOperation[],
  limits: PlanLimits,
): Promise<VersionPlan> {
  const { maxOps, maxVersions, target, limit, sealed } = limits;
  const counts: number[] = [];
  let count = 0;
  let bytes = 0;
  const close = () => {
    if (count > 0) counts.push(count);
    count = 0;
    bytes = 0;
  };
  for (const [i, p] of pending.entries()) {
    const opBytes = encodedOperationBytes(p.op);
    if (segmentBound(opBytes, sealed) > target) {
      if (await oversizedBytes(p.op, sealed, limit)) {
        if (counts.length === 0 && count === 0)
          return { counts, stuck: await stuckIn(pending.slice(i), limits) };
        break;
      }
      close();
      if (counts.length === maxVersions) break;
      counts.push(1);
    } else {
      if (count === maxOps || (count > 0 && segmentBound(bytes + opBytes, sealed) > target)) close();
      if (counts.length === maxVersions) break;
      count++;
      bytes += opBytes;
    }
  }
  close();
  return { counts, stuck: [] };
}

async function stuckIn(pending: readonly PendingOperation[], limits: PlanLimits): Promise<StuckOperation[]> {
  const stuck: StuckOperation[] = [];
  for (const p of pending) {
    const bytes = await oversizedBytes(p.op, limits.sealed, limits.limit);
    if (bytes !== null) stuck.push({ seq: p.seq, ...oversized(p.op, bytes) });
  }
  return stuck;
}
