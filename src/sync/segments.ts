/**
 * History segments: the operations of one version, with the version's place in the chain (client,
 * id, parent, height) inside the authenticated body so a reorder or splice is detected.
 */
import type { JsonValue, Operation } from '../contracts/replica.js';
import { ChainIntegrityError } from '../contracts/errors.js';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import {
  inflate,
  inflatedBound,
  maxDecoded,
  openValue,
  wrap,
  type EnvelopeKey,
  type OpenedValue,
} from './envelope.js';
import { assertOperation } from '../core/operations.js';
import { isUuid } from '../core/validate.js';
import { isSeq, type SegmentAuthor } from './landed.js';

/** Where a version sits in its chain. */
export interface VersionPlace {
  readonly clientId: Uuid;
  readonly versionId: Uuid;
  readonly parentVersionId: Uuid;
  /** 1 for the chain's first version, parent's height + 1 after. */
  readonly height: number;
}

type EncodedOp =
  | ['c', string, string]
  | ['d', string, string]
  | ['u', string, string, string, number]
  | ['u', string, string, string, number, JsonValue];

interface SegmentBody {
  v: 1;
  c: Uuid;
  id: Uuid;
  p: Uuid;
  h: number;
  /** The replica that pushed it (absent in versions written by earlier releases). */
  r?: Uuid;
  /** The seq of its first operation in that replica's queue (with `r`). */
  s?: number;
  ops: EncodedOp[];
}

/** A decoded segment: its operations, and who pushed it when it says so. */
export interface DecodedSegment {
  readonly ops: Operation[];
  readonly author: SegmentAuthor | null;
}

function aad(place: VersionPlace): string {
  return `chainsync/v1/segment/${place.clientId}/${place.versionId}/${place.parentVersionId}`;
}

/**
 * Encodes (and seals, with a key) the operations of one version, with its `author` when given: the
 * chain's record of landed plans is folded from it (landed.ts). Readers of earlier releases check
 * only the fields they know, so the author does not change the format's version.
 */
export function encodeSegment(
  env: EnvelopeKey,
  place: VersionPlace,
  ops: readonly Operation[],
  author: SegmentAuthor | null = null,
): Promise<Uint8Array> {
  const body: SegmentBody = {
    v: 1,
    c: place.clientId,
    id: place.versionId,
    p: place.parentVersionId,
    h: place.height,
    ...(author ? { r: author.replicaId, s: author.firstSeq } : {}),
    ops: ops.map(encodeOp),
  };
  return wrap(env, utf8(JSON.stringify(body)), aad(place));
}

/**
 * Decodes a version's segment, checking that it was written for exactly this place in the chain.
 * @throws ChainIntegrityError otherwise (or when it fails authentication, or inflates too far).
 */
export async function decodeSegment(
  env: EnvelopeKey,
  place: VersionPlace,
  bytes: Uint8Array,
): Promise<Operation[]> {
  return (await readSegment(env, place, await openValue(env, bytes, aad(place), describe(place)))).ops;
}

/**
 * Decodes the segments of consecutive versions (a page of the chain), several at once, but never
 * more at once than `maxDecodedBytes` can inflate to in all: each is opened (authenticated) first,
 * which tells how far it may inflate, and those are inflated in groups within that sum. A page of
 * ordinary segments is one group; a hostile server's page of bombs is inflated one at a time.
 * @throws ChainIntegrityError as {@link decodeSegment} does, for a bad segment.
 */
export async function decodeSegments(
  env: EnvelopeKey,
  segments: readonly { readonly place: VersionPlace; readonly bytes: Uint8Array }[],
): Promise<DecodedSegment[]> {
  const opened = await Promise.all(
    segments.map(({ place, bytes }) => openValue(env, bytes, aad(place), describe(place))),
  );
  const budget = maxDecoded(env);
  const out: DecodedSegment[] = [];
  for (let i = 0; i < opened.length;) {
    let sum = 0;
    let end = i;
    do sum += inflatedBound(env, opened[end++] as OpenedValue);
    while (end < opened.length && sum + inflatedBound(env, opened[end] as OpenedValue) <= budget);
    const group = opened.slice(i, end).map((value, j) => {
      const { place } = segments[i + j] as { place: VersionPlace };
      return readSegment(env, place, value);
    });
    out.push(...(await Promise.all(group)));
    i = end;
  }
  return out;
}

function describe(place: VersionPlace): string {
  return `version ${place.versionId}`;
}

async function readSegment(
  env: EnvelopeKey,
  place: VersionPlace,
  value: OpenedValue,
): Promise<DecodedSegment> {
  const raw = await inflate(env, value);
  const { what } = value;
  let body: SegmentBody;
  try {
    body = JSON.parse(fromUtf8(raw)) as SegmentBody;
  } catch (error) {
    throw new ChainIntegrityError(`The remote ${what} is not a valid history segment.`, { cause: error });
  }
  if (
    body?.v !== 1 ||
    body.c !== place.clientId ||
    body.id !== place.versionId ||
    body.p !== place.parentVersionId ||
    body.h !== place.height ||
    !Array.isArray(body.ops)
  ) {
    throw new ChainIntegrityError(
      `The remote ${what} does not belong at this place in the chain (expected height ${place.height} after ${place.parentVersionId}): the chain was reordered or spliced.`,
    );
  }
  const author =
    body.r === undefined && body.s === undefined ? null : { replicaId: body.r, firstSeq: body.s };
  if (author && (!isUuid(author.replicaId) || !isSeq(author.firstSeq))) {
    throw new ChainIntegrityError(`The remote ${what} names its author in a form chainsync does not write.`);
  }
  try {
    return { ops: body.ops.map(decodeOp), author: author as SegmentAuthor | null };
  } catch (error) {
    throw new ChainIntegrityError(`The remote ${what} holds a malformed operation.`, { cause: error });
  }
}

/**
 * Bytes `op` adds to a segment body (its encoded JSON, and a comma): with
 * {@link SEGMENT_BODY_OVERHEAD}, the exact body size of a version, which size-aware push planning
 * and the write-time check sum up without encoding whole versions.
 */
export function encodedOperationBytes(op: Operation): number {
  return utf8(JSON.stringify(encodeOp(op))).length + 1;
}

/** The longest author a segment can carry, for size bounds. */
export const LONGEST_AUTHOR: SegmentAuthor = { replicaId: NIL_UUID, firstSeq: Number.MAX_SAFE_INTEGER };

/** Bytes of a segment body besides its operations, at most (at the longest height and author). */
export const SEGMENT_BODY_OVERHEAD = utf8(
  JSON.stringify({
    v: 1,
    c: NIL_UUID,
    id: NIL_UUID,
    p: NIL_UUID,
    h: Number.MAX_SAFE_INTEGER,
    r: LONGEST_AUTHOR.replicaId,
    s: LONGEST_AUTHOR.firstSeq,
    ops: [],
  } satisfies SegmentBody),
).length;

function encodeOp(op: Operation): EncodedOp {
  if (op.type === 'create') return ['c', op.collection, op.id];
  if (op.type === 'delete') return ['d', op.collection, op.id];
  return op.value === undefined
    ? ['u', op.collection, op.id, op.property, op.timestamp]
    : ['u', op.collection, op.id, op.property, op.timestamp, op.value];
}

function decodeOp(e: EncodedOp): Operation {
  if (!Array.isArray(e)) throw new TypeError('operation is not an array');
  const [t, collection, id] = e;
  let op: Operation;
  if (t === 'c') op = { type: 'create', collection, id };
  else if (t === 'd') op = { type: 'delete', collection, id };
  else op = { type: 'update', collection, id, property: e[3], timestamp: e[4], value: e[5] };
  assertOperation(op);
  return op;
}
