/**
 * connectRemote's memory of probe verdicts: a refusal is not for ever (a server gets fixed, a
 * verdict can be wrong), so it is probed again once the refusal has aged.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rejectsWith } from '../../testing/conformance/support.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { REPROBE_REFUSED_AFTER_MS, REPROBE_REFUSED_MAX_MS, connectRemote, forgetProbes } from './connect.js';

const server = createObjectServer({ baseUrl: 'https://verdicts.test/store' });
const options = { baseUrl: server.baseUrl, fetch: inProcessFetch(server.handlers), probe: { rounds: 1 } };

afterEach(() => {
  vi.useRealTimers();
  server.reset();
  server.behaviour.ignorePreconditions = false;
  forgetProbes();
});

describe('connectRemote verdicts', () => {
  it('remembers a refusal for a while, then probes the server again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    server.behaviour.ignorePreconditions = true;
    await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER');
    server.behaviour.ignorePreconditions = false; // the server is fixed
    const probed = server.requests.length;
    vi.setSystemTime(Date.now() + REPROBE_REFUSED_AFTER_MS - 1);
    await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER');
    expect(server.requests.length).toBe(probed); // remembered: not probed again yet
    vi.setSystemTime(Date.now() + 1);
    const backend = await connectRemote(options);
    expect(server.requests.length).toBeGreaterThan(probed);
    await backend.uploadConditional('k', new Uint8Array([1]), { ifAbsent: true });
  });

  it('waits twice as long after each refusal in a row, up to REPROBE_REFUSED_MAX_MS', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    server.behaviour.ignorePreconditions = true; // stays unfit
    await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER');
    const waits: number[] = [];
    for (
      let wait = REPROBE_REFUSED_AFTER_MS;
      waits.length < 6;
      wait = Math.min(2 * wait, REPROBE_REFUSED_MAX_MS)
    ) {
      const probed = server.requests.length;
      vi.setSystemTime(Date.now() + wait - 1);
      await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER');
      expect(server.requests.length).toBe(probed); // still remembered
      vi.setSystemTime(Date.now() + 1);
      await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER');
      expect(server.requests.length).toBeGreaterThan(probed); // probed again
      waits.push(wait);
    }
    expect(waits.at(-1)).toBe(REPROBE_REFUSED_MAX_MS);
  });

  it('remembers an acceptance for as long as the process lives', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await connectRemote(options);
    const probed = server.requests.length;
    vi.setSystemTime(Date.now() + 100 * REPROBE_REFUSED_AFTER_MS);
    await connectRemote(options);
    expect(server.requests.length).toBe(probed);
  });
});

describe('connectRemote when the server answers 5xx during the probe', () => {
  // A 503 (a server restarting behind its proxy) says "not now", nothing about preconditions.
  const once = (refuse: (init: RequestInit) => boolean) => {
    let refused = 0;
    const inner = inProcessFetch(server.handlers);
    const fetch = async (input: string, init: RequestInit = {}) => {
      if (refused === 0 && refuse(init)) {
        refused++;
        return new Response('restarting', { status: 503 });
      }
      return inner(input, init);
    };
    return { fetch, refused: () => refused };
  };
  const createOnly = (init: RequestInit) =>
    init.method === 'PUT' && new Headers(init.headers).get('if-none-match') === '*';
  const ifMatch = (init: RequestInit) => init.method === 'PUT' && new Headers(init.headers).has('if-match');

  for (const [what, refuse] of [
    ['an If-None-Match: * PUT', createOnly],
    ['an If-Match PUT', ifMatch],
  ] as const) {
    it(`fails as a network failure, not a verdict, when ${what} is answered 503; the next connect probes again`, async () => {
      const blip = once(refuse);
      const error = await rejectsWith(
        connectRemote({ ...options, fetch: blip.fetch }),
        'REMOTE_FAILED', // the probe's scratch write may have landed; the caller's request was never sent
      );
      expect(error.message).toMatch(/503/);
      expect(error.message).toMatch(/Nothing of yours was sent/);
      expect(blip.refused()).toBe(1);
      const backend = await connectRemote({ ...options, fetch: blip.fetch });
      await backend.uploadConditional('k', new Uint8Array([1]), { ifAbsent: true });
    });
  }
});
