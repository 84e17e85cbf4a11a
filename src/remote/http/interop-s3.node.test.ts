/**
 * A real S3-compatible store: Ceph's RADOS Gateway (Debian's Ceph 16) on 127.0.0.1, SigV4 through
 * aws4fetch. The probe must find its measured quirks, and the backend must pass the shared
 * AtomicRemoteBackend conformance suite on it by working around them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atomicRemoteBackendConformance } from '../../testing/conformance/index.js';
import { b, s } from '../../testing/conformance/support.js';
import { connectRemote } from './connect.js';
import { HttpRemoteBackend } from './http-backend.js';
import type { FetchLike } from './options.js';
import { s3Fetch } from './s3-fetch.js';
import { probeServer, type ProbeReport } from './probe.js';
import {
  CEPH_CREDENTIALS,
  requireCeph,
  startCeph,
  type RunningServer,
} from '../../test-support/interop-servers.js';

const missing = await requireCeph();

const signed = s3Fetch(CEPH_CREDENTIALS);

let ceph: (RunningServer & { endpoint: string }) | undefined;
let report: ProbeReport;
let buckets = 0;

async function newBucket(): Promise<string> {
  const url = `${ceph!.endpoint}/chainsync-${++buckets}-${crypto.randomUUID().slice(0, 8)}`;
  const reply = await signed(url, { method: 'PUT' });
  if (!reply.ok) throw new Error(`creating bucket ${url}: ${reply.status} ${await reply.text()}`);
  return url;
}

// One cluster for the whole file (the conformance suite below included).
if (missing === null) {
  beforeAll(async () => {
    ceph = await startCeph();
    // Ten rounds: a lost race answered with 500 shows up within them (measured: several per round).
    report = await probeServer({ baseUrl: await newBucket(), fetch: signed, rounds: 10 });
  }, 180_000);
  afterAll(() => ceph?.stop());
}

describe.skipIf(missing !== null)('interop: Ceph RADOS Gateway (S3)', () => {
  it('probe: atomic, If-Match only unquoted, 5xx for a lost race, DELETE ignoring If-Match, MD5 ETags', () => {
    expect(report.quirks).toEqual({
      ifMatchUnquoted: true,
      contentDerivedETags: true,
      deleteIgnoresIfMatch: true,
      lostRaceAs5xx: true,
      weakETagAfterWrite: false,
      noETagOnPut: false,
    });
    expect(report.checks['atomic-cas'].ok).toBe(true);
    expect(report.checks['if-match-delete'].detail).toMatch(/precondition ignored/);
    expect(report.failed).toEqual(['if-match-delete']);
    expect(report.blocking).toEqual([]);
  });

  it('connectRemote accepts it and the backend sends If-Match unquoted, deletes by tombstone', async () => {
    const baseUrl = await newBucket();
    const r = await connectRemote({ baseUrl, fetch: signed, list: 's3', probe: { rounds: 1 } });
    expect(r.quirks.ifMatchUnquoted).toBe(true);
    const v1 = await r.uploadConditional('doc', b('one'), { ifAbsent: true });
    expect(v1.startsWith('"')).toBe(true);
    const v2 = await r.uploadConditional('doc', b('two'), { ifVersion: v1 });
    await expect(r.deleteConditional('doc', { ifVersion: v1 })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    expect(s(await r.download('doc'))).toBe('two');
    await r.deleteConditional('doc', { ifVersion: v2 });
    expect(await r.exists('doc')).toBe(false);
    // A plain S3 client still sees the tombstone object: the delete was a conditional PUT.
    expect((await signed(`${baseUrl}/doc`, { method: 'HEAD' })).status).toBe(200);
  });

  it('settles conditional PUTs that lost a race and were answered 5xx: exactly one winner, the rest PRECONDITION_FAILED', async () => {
    let answered5xx = 0;
    const counting: FetchLike = async (url, init) => {
      const reply = await signed(url, init);
      if (init.method === 'PUT' && reply.status >= 500) answered5xx++;
      return reply;
    };
    const r = new HttpRemoteBackend({ baseUrl: await newBucket(), fetch: counting, quirks: report.quirks });
    let rounds = 0;
    // Race until RGW has answered some loser with 5xx (measured: several per round of 8).
    while (answered5xx === 0 && rounds < 20) {
      const key = `race-${rounds++}`;
      const v0 = await r.uploadConditional(key, b('start'), { ifAbsent: true });
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, w) =>
          r.uploadConditional(key, b(`w${w}`), { ifVersion: v0 }).then(
            (version) => ({ w, version }),
            (error: { code?: string }) => ({ w, code: error.code }),
          ),
        ),
      );
      const winners = outcomes.filter((o) => 'version' in o);
      expect(winners.length).toBe(1);
      expect(outcomes.filter((o) => 'code' in o).map((o) => 'code' in o && o.code)).toEqual(
        Array(7).fill('PRECONDITION_FAILED'),
      );
      expect(s(await r.download(key))).toBe(`w${winners[0]!.w}`);
    }
    console.warn(
      `RGW answered ${answered5xx} lost conditional PUTs with 5xx in ${rounds} rounds; all settled`,
    );
    expect(answered5xx).toBeGreaterThan(0);
  });
});

if (missing === null) {
  atomicRemoteBackendConformance('remote-s3', async () => {
    return new HttpRemoteBackend({
      baseUrl: await newBucket(),
      fetch: signed,
      list: 's3',
      quirks: report.quirks,
    });
  });
}
