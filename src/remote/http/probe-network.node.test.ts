/**
 * A network blip while the capability probe races its concurrent `If-Match` PUTs, against the
 * reference server on 127.0.0.1: a failure on the network says nothing about the server, so it is
 * never a verdict. The round is raced again; if the network stays down the probe fails as the
 * network failure it is (not remembered), and the next connect probes again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverPerFile } from '../../test-support/temp-server.js';
import { rejectsWith } from '../../testing/conformance/support.js';
import { connectRemote, forgetProbes } from './connect.js';
import type { FetchLike } from './options.js';
import { probeServer } from './probe.js';

const shared = serverPerFile('probe-network');
afterEach(() => forgetProbes());

/** One of the probe's concurrent `If-Match` PUTs (the atomicity race). */
const isRacePut = (url: string, init: RequestInit) =>
  init.method === 'PUT' && new Headers(init.headers).has('if-match') && /-race-\d+$/.test(url);

/**
 * A fetch to the server whose race PUTs meet `fault` while `down()` says so: `'lost'` fails them
 * before they are sent; `'answer-lost'` sends them and loses the answer (the write lands).
 */
function blippingFetch(fault: 'lost' | 'answer-lost', down: () => boolean) {
  let failed = 0;
  const fetch: FetchLike = async (input, init) => {
    if (!isRacePut(input, init) || !down()) return globalThis.fetch(input, init);
    failed++;
    if (fault === 'answer-lost') await (await globalThis.fetch(input, init)).arrayBuffer();
    throw new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
  };
  return { fetch, failed: () => failed };
}

const quick = { readRetry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1 } };

describe('the capability probe under network blips', () => {
  it('races a round again when its PUTs failed on the network, and passes a healthy server', async () => {
    let racePuts = 0;
    // The first round's PUTs are lost on the way (8 of them: the whole round).
    const blip = blippingFetch('lost', () => racePuts++ < 8);
    const report = await probeServer({ baseUrl: shared.server.url, fetch: blip.fetch, ...quick });
    expect(blip.failed()).toBe(8);
    expect(report.checks['atomic-cas']).toMatchObject({ ok: true });
    expect(report.blocking).toEqual([]);
  });

  it('races a round again when a PUT landed but its answer was lost', async () => {
    let racePuts = 0;
    // In the first round, every PUT reaches the server (one wins) and every answer is lost.
    const blip = blippingFetch('answer-lost', () => racePuts++ < 8);
    const report = await probeServer({ baseUrl: shared.server.url, fetch: blip.fetch, ...quick });
    expect(blip.failed()).toBe(8);
    expect(report.checks['atomic-cas']).toMatchObject({ ok: true });
    expect(report.blocking).toEqual([]);
  });

  it('an outage over every race fails the connect as a network failure, and the next connect succeeds', async () => {
    let down = true;
    const blip = blippingFetch('lost', () => down);
    const options = { baseUrl: shared.server.url, fetch: blip.fetch, ...quick };
    // The caller's request was never sent (connecting comes first): not "may have been applied".
    const error = await rejectsWith(connectRemote(options), 'REMOTE_FAILED');
    expect(error.message).toMatch(/network/);
    expect(error.message).toMatch(/Nothing of yours was sent/);
    expect(blip.failed()).toBeGreaterThan(8);
    down = false;
    const backend = await connectRemote(options);
    expect(
      await backend.uploadConditional('after-the-blip', new Uint8Array([1]), { ifAbsent: true }),
    ).toMatch(/^"/);
  });
});
