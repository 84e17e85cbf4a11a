import { fromUtf8, utf8 } from '../../core/bytes.js';
import {
  appliedWait,
  isNotNowStatus,
  isPreconditionRefusal,
  isSuccessStatus,
  isWeakETag,
  PREFERENCE_APPLIED,
  unquotedETag,
} from '../../core/http-semantics.js';
import { sleep } from '../../core/sleep.js';
import {
  DeterminateRemoteError,
  IndeterminateRemoteError,
  InvalidArgumentError,
  UnauthorizedError,
  UnreachableRemoteError,
  type RemoteError,
} from '../../contracts/errors.js';
import { NO_QUIRKS, statedMaxObjectBytes, type HttpTransportOptions, type ServerQuirks } from './options.js';
import { HttpTransport, networkFailureReason, type HttpReply } from './transport.js';

/** The capabilities compare-and-swap needs, each checked by {@link probeServer}. */
export type ProbeCheck =
  /** Reads return strong ETags, also right after a write. */
  | 'strong-etags'
  /** The PUT response carries the new ETag (a follow-up read would race). */
  | 'etag-on-put'
  /** `If-None-Match: *` refuses to overwrite an existing object, and creates an absent one. */
  | 'if-none-match'
  /** `If-Match` on PUT refuses a stale version and accepts the current one. */
  | 'if-match-put'
  /** `If-Match` on DELETE refuses a stale version and accepts the current one. */
  | 'if-match-delete'
  /** Of several concurrent `If-Match` PUTs from the same version, at most one succeeds. */
  | 'atomic-cas';

/** Outcome of one check, with what was observed. */
export interface ProbeCheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** What {@link probeServer} found. */
export interface ProbeReport {
  readonly baseUrl: string;
  readonly checks: Readonly<Record<ProbeCheck, ProbeCheckResult>>;
  /** Measured deviations the backend works around (see {@link ServerQuirks}). */
  readonly quirks: ServerQuirks;
  /** Every failed check. */
  readonly failed: readonly ProbeCheck[];
  /**
   * Failed checks that make the server unusable for compare-and-swap. `if-match-delete` is never
   * among them: the backend then emulates conditional deletes with tombstones written by conditional
   * PUT (see {@link ServerQuirks.deleteIgnoresIfMatch}).
   */
  readonly blocking: readonly ProbeCheck[];
  /**
   * The largest object the server accepts, in bytes, as it states in its
   * `Chainsync-Max-Object-Bytes` response header; `null` when it states none (or nothing usable).
   */
  readonly maxObjectBytes: number | null;
  /**
   * The server has the change signal: it holds a conditional GET with `Prefer: wait` until the
   * object changes (docs/live-sync.md). Optional: a report without it (one an earlier release
   * measured and a probe cache kept) reads as `false`, and the replica polls.
   */
  readonly changeSignal?: boolean;
}

/** Options of {@link probeServer}. */
export interface ProbeOptions extends HttpTransportOptions {
  /** Prefix of the probe's scratch keys (default none); they are deleted afterwards. */
  readonly keyPrefix?: string;
  /** Concurrent conditional writers per race round (default 8). */
  readonly writers?: number;
  /** Race rounds (default 3); the probe stops at the first lost update. */
  readonly rounds?: number;
  /** How long to wait for a weak ETag after a write to become strong, in ms (default 3000). */
  readonly strongETagWaitMs?: number;
}

/**
 * A write of the probe answered "not now" (5xx: it may have been applied; 408 / 429: it was not):
 * nothing can be concluded from it, so the probe fails with it instead of reaching a verdict, and
 * the next connection probes again.
 */
function throwIfNotNow(reply: HttpReply, what: string): void {
  if (!isNotNowStatus(reply.status)) return;
  const message =
    `${what}: the server answered ${reply.status}, which says "not now", nothing about its capabilities. ` +
    'Nothing was concluded; the next connection probes again.';
  const options = { status: reply.status };
  throw reply.status >= 500
    ? new IndeterminateRemoteError(message, options)
    : new DeterminateRemoteError(message, options);
}

/** The probe cannot measure anything without access: say so instead of failing every check. */
function refuseAuth(transport: HttpTransport, reply: HttpReply, what: string): void {
  if (reply.status === 401 || reply.status === 403) {
    throw new UnauthorizedError(
      `${what}: the server answered ${reply.status}, so the capability probe could not measure anything. ${transport.settings.unauthorized}`,
      { status: reply.status },
    );
  }
}

/** Mutable quirks while probing. */
type QuirkDraft = { -readonly [K in keyof ServerQuirks]: ServerQuirks[K] };

/** One probe run against one server; every step writes only the probe's own scratch keys. */
class Prober {
  readonly quirks: QuirkDraft = { ...NO_QUIRKS };
  readonly checks = new Map<ProbeCheck, ProbeCheckResult>();
  readonly #transport: HttpTransport;
  readonly #keys = new Set<string>();
  readonly #prefix: string;
  readonly #waitMs: number;
  #sawWeak = false;
  #putETagMissing = 0;
  #putETags = 0;
  /** What the server states as its largest object, from the first answer that states it. */
  maxObjectBytes: number | null = null;

  constructor(transport: HttpTransport, prefix: string, waitMs: number) {
    this.#transport = transport;
    this.#prefix = prefix;
    this.#waitMs = waitMs;
  }

  key(name: string): string {
    const key = `${this.#prefix}${name}`;
    this.#keys.add(key);
    return key;
  }

  check(name: ProbeCheck, passed: boolean, detail: string): void {
    this.checks.set(name, { ok: passed, detail });
  }

  /**
   * A PUT of the probe. An answer that says "not now" (5xx, 429, …) measures nothing: it fails the
   * probe as the failure it is, unless `notNow` is `'answer'` (the race, which judges such answers
   * itself).
   */
  async put(
    key: string,
    body: string,
    headers: Record<string, string> = {},
    notNow: 'throw' | 'answer' = 'throw',
  ): Promise<HttpReply> {
    const what = `probe PUT ${key}`;
    const reply = await this.#transport.write({
      method: 'PUT',
      url: this.#transport.urlOf(key),
      body: utf8(body),
      headers,
      what,
    });
    refuseAuth(this.#transport, reply, what);
    this.#noteLimit(reply);
    if (notNow === 'throw') throwIfNotNow(reply, what);
    if (isSuccessStatus(reply.status)) {
      const etag = reply.headers.get('etag');
      if (etag === null) this.#putETagMissing++;
      else this.#putETags++;
      if (etag !== null && isWeakETag(etag)) this.#sawWeak = true;
    }
    return reply;
  }

  async del(key: string, headers: Record<string, string> = {}): Promise<HttpReply> {
    const what = `probe DELETE ${key}`;
    const reply = await this.#transport.write({
      method: 'DELETE',
      url: this.#transport.urlOf(key),
      headers,
      what,
    });
    throwIfNotNow(reply, what);
    return reply;
  }

  async get(key: string): Promise<{ body: string; etag: string | null } | null> {
    const reply = await this.#transport.read({
      method: 'GET',
      url: this.#transport.urlOf(key),
      what: `probe GET ${key}`,
    });
    this.#noteLimit(reply);
    if (reply.status === 404) return null;
    refuseAuth(this.#transport, reply, `probe GET ${key}`);
    if (!isSuccessStatus(reply.status)) {
      throw new DeterminateRemoteError(`probe GET ${key}: the server answered ${reply.status}.`, {
        status: reply.status,
      });
    }
    return { body: fromUtf8(reply.body), etag: reply.headers.get('etag') };
  }

  /**
   * Whether the server has the change signal: a conditional GET of `key` at its current `version`
   * with `Prefer: wait=0` (answered at once either way) comes back naming `wait` in
   * `Preference-Applied`. Any failure reads as no signal: it is an optional capability (a page
   * whose S3 bucket's CORS rules do not allow `Prefer` cannot even send the request), and the
   * replica then polls, which works everywhere.
   */
  async changeSignal(key: string, version: string): Promise<boolean> {
    const reply = await this.#transport
      .read({
        method: 'GET',
        url: this.#transport.urlOf(key),
        headers: { 'If-None-Match': version, Prefer: 'wait=0' },
        what: `probe GET ${key} (Prefer: wait=0)`,
      })
      .catch(() => null);
    return reply !== null && appliedWait(reply.headers.get(PREFERENCE_APPLIED));
  }

  #noteLimit(reply: HttpReply): void {
    this.maxObjectBytes ??= statedMaxObjectBytes(reply.headers);
  }

  /**
   * The object's strong version after a write: the PUT's ETag if it sent a strong one, else a read
   * (noting a weak ETag right after the write), polled until strong or the wait is over.
   */
  async versionAfter(key: string, put: HttpReply): Promise<string | null> {
    const fromPut = put.headers.get('etag');
    if (fromPut !== null && !isWeakETag(fromPut)) return fromPut;
    const deadline = Date.now() + this.#waitMs;
    for (let first = true; ; first = false) {
      const etag = (await this.get(key))?.etag ?? null;
      if (etag === null) return null;
      if (!isWeakETag(etag)) return etag;
      if (first) this.quirks.weakETagAfterWrite = true;
      this.#sawWeak = true;
      if (Date.now() > deadline) return null;
      await sleep(200);
    }
  }

  /** `If-Match` value in the form the server accepts. */
  ifMatch(version: string): string {
    return this.quirks.ifMatchUnquoted ? unquotedETag(version) : version;
  }

  finishETagChecks(): void {
    this.quirks.noETagOnPut = this.#putETagMissing > 0;
    this.check(
      'etag-on-put',
      this.#putETagMissing === 0 && this.#putETags > 0,
      this.#putETagMissing === 0
        ? 'every successful PUT returned an ETag'
        : `${this.#putETagMissing} of ${this.#putETagMissing + this.#putETags} successful PUTs returned no ETag`,
    );
    const weakAfterWrite = this.quirks.weakETagAfterWrite;
    this.check(
      'strong-etags',
      !this.#sawWeak,
      this.#sawWeak
        ? weakAfterWrite
          ? 'reads right after a write returned a weak (W/) ETag'
          : 'the server returned weak (W/) ETags'
        : 'all ETags were strong',
    );
  }

  async cleanUp(): Promise<void> {
    await Promise.all([...this.#keys].map((key) => this.del(key).catch(() => undefined)));
  }
}

async function checkCreateOnly(p: Prober, main: string): Promise<void> {
  const overwrite = await p.put(main, 'B', { 'If-None-Match': '*' });
  const after = await p.get(main);
  const kept = isPreconditionRefusal(overwrite) && after?.body === 'A';
  const fresh = p.key('create-only');
  const create = await p.put(fresh, 'created', { 'If-None-Match': '*' });
  const created = isSuccessStatus(create.status) && (await p.get(fresh))?.body === 'created';
  p.check(
    'if-none-match',
    kept && created,
    !kept
      ? `If-None-Match: * on an existing object was answered ${overwrite.status}${after?.body === 'B' ? ' and overwrote it' : ''}`
      : !created
        ? `If-None-Match: * on an absent object was answered ${create.status} instead of creating it`
        : 'refused to overwrite (412), created when absent',
  );
}

/** Replaces from the current version (learning the accepted form), then retries from the now stale one. */
async function checkIfMatchPut(p: Prober, main: string, current: string): Promise<string | null> {
  let reply = await p.put(main, 'D', { 'If-Match': current });
  let form = 'quoted, as sent by the server';
  if (isPreconditionRefusal(reply) && current.startsWith('"')) {
    reply = await p.put(main, 'D', { 'If-Match': unquotedETag(current) });
    if (isSuccessStatus(reply.status)) {
      p.quirks.ifMatchUnquoted = true;
      form = 'only in its UNQUOTED form (the quoted ETag, as the server sent it, got 412)';
    }
  }
  const applied = isSuccessStatus(reply.status) && (await p.get(main))?.body === 'D';
  const next = applied ? await p.versionAfter(main, reply) : null;
  const staleReply = await p.put(main, 'C', { 'If-Match': p.ifMatch(current) });
  const afterStale = await p.get(main);
  const staleRefused = isPreconditionRefusal(staleReply) && afterStale?.body !== 'C';
  p.check(
    'if-match-put',
    staleRefused && applied,
    !applied
      ? `a PUT with the current ETag in If-Match was answered ${reply.status}`
      : !staleRefused
        ? `a PUT with a stale If-Match was answered ${staleReply.status}${afterStale?.body === 'C' ? ' and overwrote the object (precondition ignored)' : ''}`
        : `accepted the current version ${form}, refused the stale one (412)`,
  );
  return next;
}

async function checkIfMatchDelete(
  p: Prober,
  main: string,
  stale: string,
  current: string | null,
): Promise<void> {
  const staleReply = await p.del(main, { 'If-Match': p.ifMatch(stale) });
  const survived = (await p.get(main)) !== null;
  if (!survived || !isPreconditionRefusal(staleReply)) {
    p.quirks.deleteIgnoresIfMatch = true;
    p.check(
      'if-match-delete',
      false,
      `a DELETE with a stale If-Match was answered ${staleReply.status}${survived ? '' : ' and deleted the object (precondition ignored)'}`,
    );
    return;
  }
  if (current === null) {
    p.quirks.deleteIgnoresIfMatch = true;
    p.check(
      'if-match-delete',
      false,
      'refused a stale version, but no strong current version was available to test',
    );
    return;
  }
  const reply = await p.del(main, { 'If-Match': p.ifMatch(current) });
  const gone = isSuccessStatus(reply.status) && (await p.get(main)) === null;
  if (!gone) p.quirks.deleteIgnoresIfMatch = true;
  p.check(
    'if-match-delete',
    gone,
    gone
      ? 'refused a stale version (412), deleted with the current one'
      : `a DELETE with the current ETag in If-Match was answered ${reply.status}`,
  );
}

/** One racer's outcome: the status the server answered, or the network failure that hid it. */
type RaceReply = { readonly status: number } | { readonly failure: RemoteError };

/** Times a race round is run again when the network (or a 5xx) left it without a verdict. */
const INCONCLUSIVE_RERUNS = 3;

/**
 * Races `writers` concurrent `If-Match` PUTs from one version, `rounds` times. A round decides
 * only on what the server answered: a racer that failed on the network (never sent, or sent and
 * its answer lost) leaves the round inconclusive unless it proved a lost update anyway (two
 * successes), and such a round is raced again, as is one whose stored writer, or whose only
 * answers, were 5xx. After {@link INCONCLUSIVE_RERUNS} reruns the probe fails with the network
 * error: that says nothing about the server, so it must never become a verdict.
 */
async function checkAtomic(
  p: Prober,
  writers: number,
  rounds: number,
  pause: (rerun: number) => Promise<void>,
): Promise<void> {
  let lost5xx = 0;
  let reruns = 0;
  for (let round = 0, race = 0; round < rounds; race++) {
    const key = p.key(`race-${race}`);
    const v0 = await p.versionAfter(key, await p.put(key, 'start'));
    if (v0 === null) {
      p.check('atomic-cas', false, 'not testable: no strong version to race from');
      return;
    }
    const bodies = Array.from({ length: writers }, (_, w) => `writer-${w}-${crypto.randomUUID()}`);
    const replies = await Promise.all(
      bodies.map((body) =>
        p.put(key, body, { 'If-Match': p.ifMatch(v0) }, 'answer').then(
          (reply): RaceReply => ({ status: reply.status }),
          (error: unknown): RaceReply => {
            if (isNetworkFailure(error)) return { failure: error };
            throw error;
          },
        ),
      ),
    );
    const final = (await p.get(key))?.body;
    const status = (reply: RaceReply | undefined) => (reply && 'status' in reply ? reply.status : 0);
    const winners = replies.filter((reply) => isSuccessStatus(status(reply))).length;
    const landed = bodies.findIndex((body) => body === final);
    if (winners > 1) {
      p.check(
        'atomic-cas',
        false,
        `round ${round + 1}: ${winners} of ${writers} concurrent If-Match PUTs from the same version succeeded (lost updates)`,
      );
      return;
    }
    // A racer without an answer (a network failure, or a 5xx: outcome unknown) may be the one
    // that won or that landed: such a round proves nothing either way, except lost updates above.
    const unanswered = (reply: RaceReply | undefined) => status(reply) === 0 || status(reply) >= 500;
    const failures = replies.flatMap((reply) => ('failure' in reply ? [reply.failure] : []));
    if (
      failures.length > 0 ||
      (landed >= 0 && unanswered(replies[landed])) ||
      (winners === 0 && replies.some(unanswered))
    ) {
      if (++reruns > INCONCLUSIVE_RERUNS) throw inconclusive(failures, writers, reruns, replies.map(status));
      await pause(reruns);
      continue;
    }
    if (landed >= 0 && !isSuccessStatus(status(replies[landed]))) {
      p.check(
        'atomic-cas',
        false,
        `round ${round + 1}: a writer answered ${status(replies[landed])} (not success) is the one whose bytes were stored`,
      );
      return;
    }
    if (winners === 0 && landed < 0) {
      p.check(
        'atomic-cas',
        false,
        `round ${round + 1}: none of ${writers} If-Match PUTs from the current version succeeded`,
      );
      return;
    }
    lost5xx += replies.filter((reply) => status(reply) >= 500).length;
    round++;
  }
  if (lost5xx > 0) p.quirks.lostRaceAs5xx = true;
  p.check(
    'atomic-cas',
    true,
    `${rounds} rounds of ${writers} concurrent If-Match PUTs: one winner each` +
      (lost5xx > 0 ? `; ${lost5xx} losers were answered 5xx instead of 412 (nothing written)` : ''),
  );
}

/** A request that failed before the server's answer arrived (network, timeout): no status to judge. */
function isNetworkFailure(error: unknown): error is RemoteError {
  return error instanceof IndeterminateRemoteError || error instanceof DeterminateRemoteError;
}

/**
 * The probe's first request failed before the server answered anything: the server is down, the URL
 * is wrong, the device is offline, or (in a browser, which does not tell these apart) the server does
 * not allow the page's origin. Say where the server is configured, not how compare-and-swap works.
 */
function unreachable(transport: HttpTransport, failure: RemoteError): UnreachableRemoteError {
  const cause = failure.cause;
  const reason =
    cause instanceof Error && cause.name === 'TimeoutError'
      ? `it timed out, see ${transport.settings.timeout}`
      : networkFailureReason(cause);
  return new UnreachableRemoteError(
    `Could not reach the server at ${transport.baseUrl}: the first request got no answer (${reason}). ` +
      `Check ${transport.settings.url}, that the server is running and, in a browser, that it allows this page's origin (CORS). ` +
      'Nothing was synced; the next sync tries again.',
    { cause: failure, network: failure.network },
  );
}

/** The error of a race that the network kept from deciding: a failure to measure, not a verdict. */
function inconclusive(
  failures: readonly RemoteError[],
  writers: number,
  runs: number,
  statuses: readonly number[],
): RemoteError {
  const last = failures.at(-1);
  const what =
    `the capability probe could not measure atomicity: ${runs} times in a row, its ${writers} concurrent ` +
    `If-Match PUTs were cut off by the network or answered 5xx (last round: ${statuses.map((s) => s || 'no answer').join(', ')}). ` +
    'This says nothing about the server, so nothing was concluded; the next connection probes again.';
  return last
    ? new IndeterminateRemoteError(`${what} Last network failure: ${last.message}`, { cause: last })
    : new DeterminateRemoteError(what, { status: Math.max(...statuses) });
}

/**
 * Measures whether an HTTP object server can carry compare-and-swap: strong ETags, the ETag on PUT,
 * `If-None-Match: *`, `If-Match` on PUT and on DELETE, and atomicity of concurrent conditional PUTs.
 * It also detects, by behaviour, deviations the backend can work around ({@link ServerQuirks}):
 * `If-Match` matching only unquoted ETags, 5xx for a lost race, the same ETag for the same bytes,
 * DELETE ignoring `If-Match`, weak ETags right after a write, no ETag on PUT.
 *
 * The atomicity check can only disprove: racing writers that all happen to be serialized prove
 * nothing. A server that checks `If-Match` when the headers arrive but writes after the body
 * (Apache mod_dav) loses the race only now and then over a fast link, every time over a slow one.
 * It is refused anyway for its other failed checks; the interop tests race it with slow uploads.
 *
 * It writes and then deletes a handful of scratch keys (`<keyPrefix>chainsync-probe-<uuid>-…`).
 * Network failures reject with the {@link RemoteError} of the failing request (an
 * {@link UnreachableRemoteError} when the first request gets no answer at all): a network failure
 * is never a verdict. In the atomicity race, where a few lost requests are likely during a blip,
 * a round the network left undecided is raced again before the probe gives up.
 */
export async function probeServer(options: ProbeOptions): Promise<ProbeReport> {
  const transport = new HttpTransport(options);
  const { keyPrefix = '', writers = 8, rounds = 3, strongETagWaitMs = 3_000 } = options;
  if (typeof keyPrefix !== 'string')
    throw new InvalidArgumentError('options.keyPrefix', 'expected a string.');
  // A race needs at least two writers; one round is the least that measures anything.
  for (const [name, value, least] of [['writers', writers, 2] as const, ['rounds', rounds, 1] as const]) {
    if (!Number.isSafeInteger(value) || value < least) {
      throw new InvalidArgumentError(
        `options.${name}`,
        `expected an integer ≥ ${least}, got ${String(value)}.`,
      );
    }
  }
  const p = new Prober(transport, `${keyPrefix}chainsync-probe-${crypto.randomUUID()}-`, strongETagWaitMs);
  // Measured right after the first writes; a probe that fails before reports nothing.
  let changeSignal: boolean;
  try {
    const main = p.key('main');
    const first = await p.put(main, 'A').catch((error: unknown) => {
      throw isNetworkFailure(error) && !options.signal?.aborted ? unreachable(transport, error) : error;
    });
    if (!isSuccessStatus(first.status)) {
      throw new DeterminateRemoteError(
        `probe PUT ${main}: the server answered ${first.status} to a plain PUT, so nothing can be measured. ` +
          `Check ${transport.settings.url}.`,
        { status: first.status },
      );
    }
    const v1 = await p.versionAfter(main, first);
    const v2 = await p.versionAfter(main, await p.put(main, 'A'));
    p.quirks.contentDerivedETags = v1 !== null && v1 === v2;
    changeSignal = v2 !== null && (await p.changeSignal(main, v2));
    await checkCreateOnly(p, main);
    if (v2 === null) {
      p.check('if-match-put', false, 'not testable: the server gave no strong ETag for the object');
      p.check('if-match-delete', false, 'not testable: the server gave no strong ETag for the object');
      p.quirks.deleteIgnoresIfMatch = true;
    } else {
      // After the replace, v2 is stale (the bytes differ, so even repeating ETags differ).
      const v3 = await checkIfMatchPut(p, main, v2);
      await checkIfMatchDelete(p, main, v2, v3);
    }
    // Reruns of an inconclusive race wait like retried reads do: a blip may need a moment to pass.
    const { baseDelayMs = 100, maxDelayMs = 2_000 } = options.readRetry ?? {};
    await checkAtomic(p, writers, rounds, (rerun) =>
      sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (rerun - 1)), options.signal),
    );
    p.finishETagChecks();
  } finally {
    await p.cleanUp();
  }
  const order: ProbeCheck[] = [
    'strong-etags',
    'etag-on-put',
    'if-none-match',
    'if-match-put',
    'if-match-delete',
    'atomic-cas',
  ];
  const checks = Object.fromEntries(
    order.map((name) => [name, p.checks.get(name) ?? { ok: false, detail: 'not run' }]),
  ) as Record<ProbeCheck, ProbeCheckResult>;
  const failed = order.filter((name) => !checks[name].ok);
  return {
    baseUrl: transport.baseUrl,
    checks,
    quirks: Object.freeze({ ...p.quirks }),
    failed,
    blocking: failed.filter((name) => name !== 'if-match-delete'),
    maxObjectBytes: p.maxObjectBytes,
    changeSignal,
  };
}
