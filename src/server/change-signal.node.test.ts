/**
 * The change signal on the real server (docs/live-sync.md): a conditional GET with `Prefer: wait=N`
 * is held until its object changes, answered on a change, on timeout (304) and at shutdown, never
 * holds more than half the connection cap, and passes CORS. Nothing here waits for a time: a held
 * request is awaited through `heldRequests`, and a request that should have been released but was
 * not would hang the test (the waits asked for are 60 s, the cap).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { assertFreshBuild, CliProcesses } from '../test-support/server-cli.js';
import { serverPerTest } from '../test-support/temp-server.js';

const temp = serverPerTest('signal');
const start = temp.start;

async function put(key: string, body: string): Promise<string> {
  const response = await fetch(temp.server!.url + key, { method: 'PUT', body });
  expect(response.ok).toBe(true);
  return response.headers.get('etag')!;
}

function waitFor(key: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  return fetch(temp.server!.url + key, { headers, signal });
}

/**
 * Resolves once the server holds `count` requests (an observable state, not a time). The test's
 * own timeout ends the loop on a server that never holds them (its `server` is gone by then).
 */
async function held(count: number): Promise<void> {
  const running = temp.server;
  while (temp.server === running && running!.heldRequests !== count) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(running!.heldRequests).toBe(count);
}

describe('Prefer: wait on a conditional GET (the change signal)', () => {
  it('holds a GET whose ETag is current until the object is written, then answers 200 with the new ETag', async () => {
    await start();
    const first = await put('chain/client', 'one');
    const answer = waitFor('chain/client', { 'If-None-Match': first, Prefer: 'wait=60' });
    await held(1);
    const second = await put('chain/client', 'two');
    const response = await answer;
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(second);
    expect(await response.text()).toBe('two');
    expect(response.headers.get('preference-applied')).toBe('wait=60');
    expect(temp.server!.heldRequests).toBe(0);
  });

  it('holds a GET of an absent object until it is created, and wakes on a delete too', async () => {
    await start();
    const created = waitFor('chain/client', { Prefer: 'wait=60' });
    await held(1);
    const etag = await put('chain/client', 'one');
    expect((await created).status).toBe(200);
    const deleted = waitFor('chain/client', { 'If-None-Match': etag, Prefer: 'wait=60' });
    await held(1);
    expect((await fetch(temp.server!.url + 'chain/client', { method: 'DELETE' })).status).toBe(204);
    const response = await deleted;
    expect(response.status).toBe(404);
    expect(response.headers.get('preference-applied')).toBe('wait=60');
  });

  it('answers 304 with Preference-Applied when the wait is over; wait=0 answers at once; no Prefer, no Preference-Applied', async () => {
    await start();
    const etag = await put('k', 'v');
    const timedOut = await waitFor('k', { 'If-None-Match': etag, Prefer: 'wait=1' });
    expect(timedOut.status).toBe(304);
    expect(timedOut.headers.get('etag')).toBe(etag);
    expect(timedOut.headers.get('preference-applied')).toBe('wait=1');
    const probe = await waitFor('k', { 'If-None-Match': etag, Prefer: 'respond-async, wait=0' });
    expect(probe.status).toBe(304);
    expect(probe.headers.get('preference-applied')).toBe('wait=0');
    const plain = await waitFor('k', { 'If-None-Match': etag });
    expect(plain.status).toBe(304);
    expect(plain.headers.get('preference-applied')).toBeNull();
    // A stale tag is no reason to wait: the current object, at once.
    const stale = await waitFor('k', { 'If-None-Match': '"old"', Prefer: 'wait=60' });
    expect(stale.status).toBe(200);
    // Applied all the same: the client may ask again at once, and that request will be held.
    expect(stale.headers.get('preference-applied')).toBe('wait=60');
    expect(temp.server!.heldRequests).toBe(0);
  });

  it('answers held requests at shutdown (304, connection closed): close() does not wait for them', async () => {
    await start();
    const etag = await put('k', 'v');
    const answers = [1, 2, 3].map(() => waitFor('k', { 'If-None-Match': etag, Prefer: 'wait=60' }));
    await held(3);
    await temp.server!.close();
    for (const response of await Promise.all(answers)) {
      expect(response.status).toBe(304);
      expect(response.headers.get('connection')).toBe('close');
    }
  });

  it('a client that goes away is no longer held', async () => {
    await start();
    const etag = await put('k', 'v');
    const controller = new AbortController();
    const answer = waitFor('k', { 'If-None-Match': etag, Prefer: 'wait=60' }, controller.signal);
    await held(1);
    controller.abort();
    await expect(answer).rejects.toThrow();
    await held(0);
  });

  it('holds at most half of maxConnections: more waiting clients are answered at once, and writers still get through', async () => {
    await start({ maxConnections: 6 });
    const etag = await put('k', 'v');
    const waiting = [1, 2, 3].map(() => waitFor('k', { 'If-None-Match': etag, Prefer: 'wait=60' }));
    await held(3);
    for (let i = 0; i < 5; i++) {
      const over = await waitFor('k', { 'If-None-Match': etag, Prefer: 'wait=60' });
      expect(over.status).toBe(304);
      expect(over.headers.get('preference-applied')).toBeNull();
    }
    const next = await put('k', 'w');
    for (const response of await Promise.all(waiting)) {
      expect(response.status).toBe(200);
      expect(response.headers.get('etag')).toBe(next);
    }
  });

  it('passes CORS: the preflight allows Prefer, responses expose Preference-Applied', async () => {
    const origin = 'http://app.localhost:5173';
    await start({ allowOrigins: [origin] });
    const preflight = await fetch(temp.server!.url + 'k', {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'prefer, if-none-match',
      },
    });
    const allowed = preflight.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['prefer', 'if-none-match']));
    const etag = await fetch(temp.server!.url + 'k', {
      method: 'PUT',
      body: 'v',
      headers: { Origin: origin },
    });
    const response = await waitFor('k', {
      Origin: origin,
      'If-None-Match': etag.headers.get('etag')!,
      Prefer: 'wait=0',
    });
    const exposed = response.headers.get('access-control-expose-headers')!.toLowerCase().split(/,\s*/);
    expect(exposed).toContain('preference-applied');
  });
});

/**
 * What a client sees of a server that does not hold `Prefer: wait` requests: every answer at once,
 * none with `Preference-Applied`. With the signal the wait=60 requests would be held (the test times out).
 */
async function expectNoSignal(url: string): Promise<void> {
  const put = await fetch(url + 'chain/client', { method: 'PUT', body: 'one' });
  const etag = put.headers.get('etag')!;
  // The probe's request: without Preference-Applied the client polls.
  const probe = await fetch(url + 'chain/client', { headers: { 'If-None-Match': etag, Prefer: 'wait=0' } });
  expect(probe.status).toBe(304);
  expect(probe.headers.get('preference-applied')).toBeNull();
  const unchanged = await fetch(url + 'chain/client', {
    headers: { 'If-None-Match': etag, Prefer: 'wait=60' },
  });
  expect(unchanged.status).toBe(304);
  expect(unchanged.headers.get('etag')).toBe(etag);
  expect(unchanged.headers.get('preference-applied')).toBeNull();
  const absent = await fetch(url + 'chain/other', { headers: { Prefer: 'wait=60' } });
  expect(absent.status).toBe(404);
  expect(absent.headers.get('preference-applied')).toBeNull();
}

describe('changeSignal: false / --no-change-signal (a server without the signal: clients poll, e.g. for a benchmark)', () => {
  const cli = new CliProcesses();
  afterEach(() => cli.cleanup());

  it('ignores Prefer: wait like a server that does not know it: answers at once, without Preference-Applied', async () => {
    await start({ changeSignal: false });
    await expectNoSignal(temp.server!.url);
    expect(temp.server!.heldRequests).toBe(0);
  });

  it('refuses a changeSignal that is not a boolean with INVALID_ARGUMENT naming it', async () => {
    await expect(start({ changeSignal: 'no' as unknown as boolean })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'changeSignal',
    });
  });

  it('chainsync-server --no-change-signal does the same (the built bin)', async () => {
    await assertFreshBuild();
    const child = await cli.startServer(await cli.tempDir(), ['--no-change-signal']);
    await expectNoSignal(child.url);
  });
});
