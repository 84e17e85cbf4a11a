import { UnsupportedServerError } from '../../contracts/errors.js';
import { HttpRemoteBackend } from './http-backend.js';
import type { HttpBackendOptions } from './options.js';
import { probeServer, type ProbeOptions, type ProbeReport } from './probe.js';
import { HttpTransport } from './transport.js';

/** Options of {@link connectRemote}. */
export interface ConnectRemoteOptions extends HttpBackendOptions {
  /** Tuning of the capability probe (scratch key prefix, writers, rounds). */
  readonly probe?: Pick<ProbeOptions, 'keyPrefix' | 'writers' | 'rounds' | 'strongETagWaitMs'>;
  /** Probe again even if this base URL was probed before in this process. */
  readonly reprobe?: boolean;
}

/**
 * How long a refusal (a probe verdict with blocking failures) is remembered before the server is
 * probed again: a server gets fixed, and a verdict measured through a bad network can be wrong.
 */
export const REPROBE_REFUSED_AFTER_MS = 5 * 60_000;

const probes = new Map<string, Promise<ProbeReport>>();

/** Forgets cached probe results (of one base URL, or all). */
export function forgetProbes(baseUrl?: string): void {
  if (baseUrl === undefined) probes.clear();
  else probes.delete(new HttpTransport({ baseUrl }).baseUrl);
}

/** The probe result of `options.baseUrl`, measured once per process and base URL. */
export function probeOnce(options: ConnectRemoteOptions): Promise<ProbeReport> {
  const baseUrl = new HttpTransport(options).baseUrl;
  let report = options.reprobe ? undefined : probes.get(baseUrl);
  if (!report) {
    const running = probeServer({ ...options, ...options.probe });
    probes.set(baseUrl, running);
    // A failed probe (server down) is not remembered: the next connect tries again.
    running.catch(() => {
      if (probes.get(baseUrl) === running) probes.delete(baseUrl);
    });
    report = running;
  }
  return report;
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
  const report = await probeOnce(options);
  if (report.blocking.length > 0) {
    const lines = report.blocking.map((name) => `- ${name}: ${report.checks[name].detail}`);
    throw new UnsupportedServerError(
      `${report.baseUrl} cannot be synced through: compare-and-swap needs every check below, and it failed them.\n` +
        `${lines.join('\n')}\nUse the chainsync reference server or an S3-compatible store with conditional writes.`,
      report.blocking,
    );
  }
  return new HttpRemoteBackend({ ...options, quirks: report.quirks });
}
