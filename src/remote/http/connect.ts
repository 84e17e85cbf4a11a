import {
  DeterminateRemoteError,
  IndeterminateRemoteError,
  UnsupportedServerError,
} from '../../contracts/errors.js';
import { HttpRemoteBackend } from './http-backend.js';
import { maxObjectBytesOption, type HttpBackendOptions, type ServerSurprise } from './options.js';
import type { ProbeOptions, ProbeReport } from './probe.js';
import { probePart } from './probe-part.js';
import { HttpTransport } from './transport.js';
import {
  assertProbeCacheOptions,
  forgetProbeEntry,
  probeCacheKey,
  recallProbe,
  rememberProbe,
  type ProbeCacheOptions,
} from './probe-cache.js';

/** Options of {@link connectRemote}. */
export interface ConnectRemoteOptions extends HttpBackendOptions {
  /** Tuning of the capability probe (scratch key prefix, writers, rounds). */
  readonly probe?: Pick<ProbeOptions, 'keyPrefix' | 'writers' | 'rounds' | 'strongETagWaitMs'>;
  /** Probe again even if this base URL was probed before in this process. */
  readonly reprobe?: boolean;
  /**
   * Remember a passed probe beyond this process (the worker keeps it in the store's IndexedDB):
   * the next connection within the entry's lifetime sends no probe request. The entry is dropped
   * when the server answers in a way that contradicts it (a {@link ServerSurprise}), so the next
   * connection probes again. See `probe-cache.ts`.
   */
  readonly probeCache?: ProbeCacheOptions;
}

/**
 * How long a first refusal (a probe verdict with blocking failures) is remembered before the
 * server is probed again: a server gets fixed, and a verdict measured through a bad network can be
 * wrong. Each refusal in a row doubles the wait, up to {@link REPROBE_REFUSED_MAX_MS}.
 */
export const REPROBE_REFUSED_AFTER_MS = 5 * 60_000;

/** The longest a refusal is remembered: an unfit server is probed again at least this often. */
export const REPROBE_REFUSED_MAX_MS = 60 * 60_000;

/**
 * A probe of one base URL, running or done. A refusal carries when it may be probed again and how
 * many refusals came in a row (for the backoff).
 */
interface ProbeEntry {
  readonly report: Promise<ProbeReport>;
  /** Refusals in a row before this probe. */
  readonly refusalsBefore: number;
  /** Set once this probe refused the server: from then on, the cached refusal expires. */
  reprobeAt?: number;
}

const probes = new Map<string, ProbeEntry>();

/** Forgets cached probe results (of one base URL, or all). */
export function forgetProbes(baseUrl?: string): void {
  if (baseUrl === undefined) probes.clear();
  else probes.delete(new HttpTransport({ baseUrl }).baseUrl);
}

/**
 * The probe result of `options.baseUrl`. An acceptance is measured once per process and base URL.
 * A failed probe (server down, network failure) is a failure to measure, never a verdict: it is not
 * remembered, and the next call probes again. A refusal is remembered for
 * {@link REPROBE_REFUSED_AFTER_MS}, doubled for each refusal in a row (at most
 * {@link REPROBE_REFUSED_MAX_MS}), or until the platform says it is back `online`.
 */
export function probeOnce(options: ConnectRemoteOptions): Promise<ProbeReport> {
  if (options.probeCache !== undefined) assertProbeCacheOptions(options.probeCache);
  const baseUrl = new HttpTransport(options).baseUrl;
  const cached = probes.get(baseUrl);
  const expired = cached?.reprobeAt !== undefined && Date.now() >= cached.reprobeAt;
  if (cached && !expired && !options.reprobe) return cached.report;
  // A refusal that expired counts towards the backoff; a running or accepting probe does not.
  const refusalsBefore = cached?.reprobeAt !== undefined ? cached.refusalsBefore + 1 : 0;
  const entry: ProbeEntry = { report: probeOrRecall(options, baseUrl), refusalsBefore };
  probes.set(baseUrl, entry);
  entry.report.then(
    (report) => {
      if (report.blocking.length === 0) return;
      const wait = REPROBE_REFUSED_AFTER_MS * 2 ** Math.min(refusalsBefore, 30);
      entry.reprobeAt = Date.now() + Math.min(wait, REPROBE_REFUSED_MAX_MS);
      forgetRefusalsWhenOnline();
    },
    () => {
      if (probes.get(baseUrl) === entry) probes.delete(baseUrl);
    },
  );
  return entry.report;
}

/**
 * The probe's report: remembered in `options.probeCache` if a fresh acceptance is there (no
 * request sent), else measured, and remembered if it accepts the server.
 */
async function probeOrRecall(options: ConnectRemoteOptions, baseUrl: string): Promise<ProbeReport> {
  const cache = options.probeCache;
  const key = cache && (await cacheKey(options, baseUrl));
  if (cache && key && !options.reprobe) {
    const remembered = await recallProbe(cache, key);
    if (remembered) return remembered;
  }
  const { probeServer } = await probePart.load();
  const report = await probeServer({ ...options, ...options.probe });
  if (cache && key && report.blocking.length === 0) await rememberProbe(cache, key, report);
  return report;
}

/** The probe cache key of `options`: URL, scratch prefix and credentials identity, hashed. */
function cacheKey(options: ConnectRemoteOptions, baseUrl: string): Promise<string> {
  return probeCacheKey(baseUrl, options.probe?.keyPrefix ?? '', options.probeCache?.identity);
}

/**
 * A surprise ({@link ServerSurprise}) makes the probe's result stale: forgotten in this process and
 * in the probe cache, so the next connection probes again. This backend keeps its quirks.
 */
function forgetOnSurprise(
  options: ConnectRemoteOptions,
  baseUrl: string,
  key: string | undefined,
): (surprise: ServerSurprise) => void {
  return (surprise) => {
    const entry = probes.get(baseUrl);
    if (entry && entry.reprobeAt === undefined) probes.delete(baseUrl);
    // Issued at once (the key is known): a connection opened right after waits for it.
    if (options.probeCache && key !== undefined) void forgetProbeEntry(options.probeCache, key);
    options.onSurprise?.(surprise);
  };
}

let watchingOnline = false;

/**
 * Where the platform tells when the network comes back (a window's or worker's `online` event),
 * refusals expire then: one measured around an outage may be wrong, and a server fixed meanwhile
 * should not wait out the backoff. Installed once, on the first refusal.
 */
function forgetRefusalsWhenOnline(): void {
  const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
  if (watchingOnline || typeof target.addEventListener !== 'function') return;
  watchingOnline = true;
  target.addEventListener('online', () => {
    const now = Date.now();
    for (const entry of probes.values()) if (entry.reprobeAt !== undefined) entry.reprobeAt = now;
  });
}

/**
 * An {@link HttpRemoteBackend} for a server that passed the capability probe ({@link probeServer},
 * run once per base URL and cached), adapted to the quirks the probe measured.
 *
 * @throws UnsupportedServerError naming each failed check when the server cannot carry
 * compare-and-swap: it ignores preconditions, is not atomic under concurrent conditional PUTs, gives
 * weak ETags or no ETag on PUT. (DELETE ignoring `If-Match` is not refused: conditional deletes are
 * then emulated with tombstones written by conditional PUT.)
 */
export async function connectRemote(options: ConnectRemoteOptions): Promise<HttpRemoteBackend> {
  // Checked before the probe writes anything.
  const configured = maxObjectBytesOption(options.maxObjectBytes);
  const report = await probeOnce(options).catch((error: unknown) => {
    throw probeFailure(error);
  });
  if (report.blocking.length > 0) {
    const lines = report.blocking.map((name) => `- ${name}: ${report.checks[name].detail}`);
    throw new UnsupportedServerError(
      `${report.baseUrl} cannot be synced through: compare-and-swap needs every check below, and it failed them.\n` +
        `${lines.join('\n')}\nUse the chainsync reference server or an S3-compatible store with conditional writes.`,
      report.blocking,
    );
  }
  const baseUrl = new HttpTransport(options).baseUrl;
  const key = options.probeCache && (await cacheKey(options, baseUrl));
  // A limit the application configured wins over the one the server states.
  const maxObjectBytes = configured ?? report.maxObjectBytes ?? undefined;
  return new HttpRemoteBackend({
    ...options,
    quirks: report.quirks,
    maxObjectBytes,
    probedMaxObjectBytes: report.maxObjectBytes,
    // A report without the field (cached by an earlier release) means no signal: the replica polls.
    changeSignal: report.changeSignal === true,
    onSurprise: forgetOnSurprise(options, baseUrl, key),
  });
}

/**
 * A probe that failed to reach a verdict, as its caller should see it. The caller's own request was
 * never sent (connecting comes first), so nothing of theirs may read as "may have been applied": an
 * indeterminate failure of the probe's scratch writes (a 5xx, a race the network kept undecided)
 * becomes determinate. Anything else (unreachable, refused credentials, bad options) passes unchanged.
 */
function probeFailure(error: unknown): unknown {
  if (!(error instanceof IndeterminateRemoteError)) return error;
  return new DeterminateRemoteError(
    `${error.message} Nothing of yours was sent (the server is checked before the first request).`,
    { cause: error, status: error.status },
  );
}
