/**
 * Remembering a passed capability probe across processes and page loads. The probe writes scratch
 * objects and provokes deliberate 412 / 404 answers (some 50 requests); a browser app opening its
 * replica on every page load would run it again each time. {@link ProbeCacheOptions} lets
 * `connectRemote` keep an acceptance in a {@link ProbeCacheStore} (the worker's IndexedDB, or
 * {@link MemoryProbeCacheStore}) for {@link PROBE_CACHE_TTL_MS}, keyed by {@link probeCacheKey}.
 *
 * Only acceptances are remembered: a refusal is re-measured with backoff within the process (see
 * `connectRemote`), and a failure to measure is never a verdict. An entry is dropped when it
 * expires, when it no longer reads as a probe report (another library version wrote it), and on a
 * surprise: an answer that contradicts it (`ServerSurprise` (options.ts)).
 */
import type { ProbeCacheEntry, ProbeCacheStore } from '../../contracts/probe-cache.js';
import { isPositiveInteger } from '../../core/validate.js';
import { InvalidArgumentError } from '../../contracts/errors.js';
import type { ServerQuirks } from './options.js';
import type { ProbeReport } from './probe.js';

/** How long a passed probe is remembered by default: a day. */
export const PROBE_CACHE_TTL_MS = 24 * 60 * 60_000;

/** Where and for how long `connectRemote` remembers a passed probe. */
export interface ProbeCacheOptions {
  readonly store: ProbeCacheStore;
  /**
   * What identifies the credentials the probe ran with, hashed into the key with the URL and the
   * key prefix (never stored in clear): a fixed token or key pair. Leave it out for credentials
   * that come from a function: what it returns changes with each renewal, calling it only to
   * name a cache entry would spend a credential request, and the probe measures the server, not
   * the credentials (refused credentials fail the first request all the same).
   */
  readonly identity?: readonly string[];
  /** How long an acceptance is remembered, in ms (default {@link PROBE_CACHE_TTL_MS}). */
  readonly ttlMs?: number;
  /** The clock entries are stamped and aged with (default `Date.now`). */
  readonly clock?: () => number;
}

/** Checks {@link ProbeCacheOptions} before anything is read or written. */
export function assertProbeCacheOptions(options: ProbeCacheOptions): void {
  const store = options.store as Partial<ProbeCacheStore> | undefined;
  if (
    !store ||
    typeof store.get !== 'function' ||
    typeof store.put !== 'function' ||
    typeof store.delete !== 'function'
  )
    throw new InvalidArgumentError(
      'options.probeCache.store',
      'expected a ProbeCacheStore (get, put, delete).',
    );
  if (options.ttlMs !== undefined && !isPositiveInteger(options.ttlMs))
    throw new InvalidArgumentError('options.probeCache.ttlMs', 'expected a positive integer (milliseconds).');
  const identity: unknown = options.identity;
  if (identity !== undefined && (!Array.isArray(identity) || !identity.every((p) => typeof p === 'string')))
    throw new InvalidArgumentError(
      'options.probeCache.identity',
      'expected an array of strings, or leave it out.',
    );
}

/**
 * The cache key of a probe: the hex SHA-256 of the base URL, the scratch key prefix and the
 * credentials' identity. A digest, so a stored key reveals no token.
 */
export async function probeCacheKey(
  baseUrl: string,
  keyPrefix: string,
  identity: readonly string[] = [],
): Promise<string> {
  const text = JSON.stringify(['chainsync-probe/1', baseUrl, keyPrefix, identity]);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Forgets issued but not yet settled, per key: a recall waits for them (see {@link forgetProbeEntry}). */
const forgetting = new Map<string, Promise<void>>();

/**
 * The remembered acceptance under `key`, if fresh and well-formed; otherwise `undefined` (an
 * expired or malformed entry is deleted). A failing store reads as empty: the probe runs instead.
 */
export async function recallProbe(options: ProbeCacheOptions, key: string): Promise<ProbeReport | undefined> {
  await forgetting.get(key);
  const entry = await options.store.get(key).catch(() => undefined);
  if (entry === undefined) return undefined;
  const now = (options.clock ?? Date.now)();
  const age = now - entry.probedAt;
  const fresh = Number.isFinite(age) && age >= 0 && age < (options.ttlMs ?? PROBE_CACHE_TTL_MS);
  if (fresh && isAcceptance(entry.report)) return entry.report;
  await forgetProbeEntry(options, key);
  return undefined;
}

/** Remembers `report` (an acceptance) under `key`; a failing store only costs the next probe. */
export async function rememberProbe(
  options: ProbeCacheOptions,
  key: string,
  report: ProbeReport,
): Promise<void> {
  const entry: ProbeCacheEntry = { probedAt: (options.clock ?? Date.now)(), report };
  await options.store.put(key, entry).catch(() => undefined);
}

/** Drops the entry under `key` (after a `ServerSurprise` (options.ts)); a recall waits for it. */
export function forgetProbeEntry(options: ProbeCacheOptions, key: string): Promise<void> {
  const done = options.store.delete(key).catch(() => undefined);
  forgetting.set(key, done);
  void done.then(() => {
    if (forgetting.get(key) === done) forgetting.delete(key);
  });
  return done;
}

const QUIRKS: readonly (keyof ServerQuirks)[] = [
  'ifMatchUnquoted',
  'contentDerivedETags',
  'deleteIgnoresIfMatch',
  'lostRaceAs5xx',
  'weakETagAfterWrite',
  'noETagOnPut',
];

/** A stored report that reads as a passed probe of this library's shape. */
function isAcceptance(report: unknown): report is ProbeReport {
  if (typeof report !== 'object' || report === null) return false;
  const r = report as Partial<Record<keyof ProbeReport, unknown>>;
  const quirks = r.quirks as Record<string, unknown> | null | undefined;
  return (
    typeof r.baseUrl === 'string' &&
    typeof r.checks === 'object' &&
    r.checks !== null &&
    Array.isArray(r.failed) &&
    Array.isArray(r.blocking) &&
    r.blocking.length === 0 &&
    (r.maxObjectBytes === null || isPositiveInteger(r.maxObjectBytes)) &&
    // Absent in reports of releases before the change signal: read as "no signal".
    (r.changeSignal === undefined || typeof r.changeSignal === 'boolean') &&
    typeof quirks === 'object' &&
    quirks !== null &&
    QUIRKS.every((q) => typeof quirks[q] === 'boolean')
  );
}

/** A {@link ProbeCacheStore} in memory: for Node programs and tests (one process's lifetime). */
export class MemoryProbeCacheStore implements ProbeCacheStore {
  readonly #entries = new Map<string, ProbeCacheEntry>();

  get(key: string): Promise<ProbeCacheEntry | undefined> {
    const entry = this.#entries.get(key);
    return Promise.resolve(entry && structuredClone(entry));
  }

  put(key: string, entry: ProbeCacheEntry): Promise<void> {
    this.#entries.set(key, structuredClone(entry));
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  /** How many entries it holds (for tests and tools). */
  get size(): number {
    return this.#entries.size;
  }
}
