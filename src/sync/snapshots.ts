/**
 * Snapshots: the whole data set as of one version, gzipped and (with a secret) sealed, so a fresh
 * replica starts from it instead of replaying the history; plus the urgency rules that decide when
 * a replica uploads one.
 */
import type { Properties, StoredObject } from '../contracts/replica.js';
import { ChainIntegrityError, InvalidArgumentError } from '../contracts/errors.js';
import type { Snapshot, Uuid } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { unwrap, wrap, type EnvelopeKey } from './envelope.js';
import { assertJsonValue, assertObjectRef } from '../core/operations.js';
import type { LandedPlans } from '../contracts/replica-store.js';
import { checkLanded, encodeLanded, landedFrom } from './landed.js';

/** The decoded content of a snapshot. */
export interface SnapshotContent {
  readonly versionId: Uuid;
  /** Height of `versionId` in the chain. */
  readonly height: number;
  readonly objects: StoredObject[];
  /**
   * Which plans of each replica had landed at `versionId` (landed.ts). A snapshot written before
   * the record existed decodes as an empty record complete only from its own height on.
   */
  readonly landed: LandedPlans;
}

interface SnapshotBody {
  v: 1;
  c: Uuid;
  id: Uuid;
  h: number;
  /** The landed-plans record (absent in snapshots of earlier releases, which ignore it). */
  l?: { f: number; s: Record<Uuid, number> };
  objects: [string, string, Properties][];
}

function aad(clientId: Uuid, versionId: Uuid): string {
  return `chainsync/v1/snapshot/${clientId}/${versionId}`;
}

/** Encodes (gzip, and seal with a key) the state of the data set at `content.versionId`. */
export function encodeSnapshot(
  env: EnvelopeKey,
  clientId: Uuid,
  content: SnapshotContent,
): Promise<Uint8Array> {
  const body: SnapshotBody = {
    v: 1,
    c: clientId,
    id: content.versionId,
    h: content.height,
    l: encodeLanded(content.landed),
    objects: content.objects.map((o) => [o.collection, o.id, o.properties]),
  };
  return wrap(env, utf8(JSON.stringify(body)), aad(clientId, content.versionId));
}

/**
 * Decodes a snapshot made of `versionId` of `clientId`'s chain.
 * @throws ChainIntegrityError when it fails authentication or was made for another place.
 */
export async function decodeSnapshot(
  env: EnvelopeKey,
  clientId: Uuid,
  versionId: Uuid,
  bytes: Uint8Array,
): Promise<SnapshotContent> {
  const what = `snapshot of version ${versionId}`;
  const raw = await unwrap(env, bytes, aad(clientId, versionId), what);
  try {
    const body = JSON.parse(fromUtf8(raw)) as SnapshotBody;
    if (body.v !== 1 || body.c !== clientId || body.id !== versionId || !Number.isSafeInteger(body.h)) {
      throw new TypeError('snapshot header does not match');
    }
    const objects = body.objects.map(([collection, id, properties]): StoredObject => {
      assertObjectRef(collection, id);
      assertJsonValue(properties, 'properties');
      return { collection, id, properties };
    });
    const landed = body.l === undefined ? landedFrom(body.h) : checkLanded(body.l, body.h);
    return { versionId, height: body.h, objects, landed };
  } catch (error) {
    throw new ChainIntegrityError(`The remote ${what} is malformed or belongs elsewhere.`, { cause: error });
  }
}

/** How pressing a new snapshot is (TaskChampion's levels). */
export type SnapshotUrgency = 'none' | 'low' | 'high';

/** When snapshots become urgent. */
export interface SnapshotPolicy {
  /** Versions since the last snapshot that make it urgent: half of this is `low` (default 100). */
  readonly versions: number;
  /** Days since the last snapshot that make it urgent: half of this is `low` (default 14). */
  readonly days: number;
}

/** TaskChampion's defaults. */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { versions: 100, days: 14 };

/** Checks a {@link SnapshotPolicy}: `versions` and `days` whole numbers of at least 1. */
export function assertSnapshotPolicy(value: unknown, argument: string): asserts value is SnapshotPolicy {
  const policy = value as Partial<Record<keyof SnapshotPolicy, unknown>> | null;
  const whole = (v: unknown, min: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  if (typeof policy !== 'object' || policy === null || !whole(policy.versions, 1) || !whole(policy.days, 1)) {
    throw new InvalidArgumentError(
      argument,
      `expected { versions, days }: whole numbers of at least 1 (default { versions: ${DEFAULT_SNAPSHOT_POLICY.versions}, days: ${DEFAULT_SNAPSHOT_POLICY.days} }), got ${JSON.stringify(value)}.`,
    );
  }
}

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/** No snapshot → high; otherwise the higher of the version-count and age urgencies. */
export function snapshotUrgency(
  snapshot: Snapshot | null,
  now: number,
  policy = DEFAULT_SNAPSHOT_POLICY,
): SnapshotUrgency {
  if (!snapshot) return 'high';
  const level = (value: number, limit: number): number => (value >= limit ? 2 : value >= limit / 2 ? 1 : 0);
  const days = Math.floor((now - snapshot.timestamp) / DAY_MS);
  const u = Math.max(level(snapshot.versionsSince, policy.versions), level(days, policy.days));
  return u === 2 ? 'high' : u === 1 ? 'low' : 'none';
}
