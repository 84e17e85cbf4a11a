import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UnsupportedServerError } from '../../contracts/errors.js';
import {
  AbortedError,
  DeterminateRemoteError,
  IndeterminateRemoteError,
  PreconditionFailedError,
  UnauthorizedError,
  type RemoteError,
} from '../../contracts/errors.js';
import { b, rejectsWith, s } from '../../testing/conformance/support.js';
import { createObjectServer } from '../../testing/msw/index.js';
import { connectRemote, forgetProbes } from './connect.js';
import { HttpRemoteBackend } from './http-backend.js';
import { probeServer } from './probe.js';
import type { HttpBackendOptions } from './options.js';
import { freePort } from '../../test-support/interop-servers.js';

const server = createObjectServer({ baseUrl: 'http://faults.test/store' });
const msw = setupServer(...server.handlers);
// Unhandled requests go to the real network: the connection-refused case needs it.
beforeAll(() => msw.listen({ onUnhandledRequest: 'bypass' }));
afterEach(() => {
  server.reset();
  Object.assign(server.behaviour, { latencyMs: 0, ignorePreconditions: false, weakETags: false });
  forgetProbes();
});
afterAll(() => msw.close());

const fast = { readRetry: { retries: 2, baseDelayMs: 1, maxDelayMs: 5 } };
const backend = (options: Partial<HttpBackendOptions> = {}) =>
  new HttpRemoteBackend({ baseUrl: server.baseUrl, ...fast, ...options });
const count = (method: string, key: string) =>
  server.requests.filter((r) => r.method === method && r.key === key).length;

describe('HTTP backend failures', () => {
  it('a read slower than the timeout is retried, then fails determinately', async () => {
    const r = backend({ timeoutMs: 50 });
    await r.upload('k', b('x'));
    server.behaviour.latencyMs = 200;
    const err = await rejectsWith<RemoteError>(r.download('k'), 'REMOTE_FAILED');
    expect(err).toBeInstanceOf(DeterminateRemoteError);
    expect(err.message).toMatch(/within 50 ms/);
    expect(err.network).toBe(false);
    expect(count('GET', 'k')).toBe(3);
  });

  it('a conditional PUT slower than the timeout is indeterminate and sent once', async () => {
    const r = backend({ timeoutMs: 50 });
    const v = await r.uploadConditional('k', b('one'), { ifAbsent: true });
    server.behaviour.latencyMs = 200;
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('two'), { ifVersion: v }),
      'REMOTE_INDETERMINATE',
    );
    expect(err.determinate).toBe(false);
    expect(err.message).toMatch(/may or may not have been applied/);
    expect(count('PUT', 'k')).toBe(2);
  });

  it('retries a GET answered 5xx and returns the object', async () => {
    const r = backend();
    await r.upload('k', b('payload'));
    server.inject({ kind: 'status', status: 503, method: 'GET', times: 2 });
    expect(s(await r.download('k'))).toBe('payload');
    expect(count('GET', 'k')).toBe(3);
  });

  it('gives up on a GET that keeps failing with a determinate error carrying the status', async () => {
    const r = backend();
    await r.upload('k', b('payload'));
    server.inject({ kind: 'status', status: 502, method: 'GET', times: 10 });
    const err = await rejectsWith<RemoteError>(r.download('k'), 'REMOTE_FAILED');
    expect(err.status).toBe(502);
    expect(err.network).toBe(false);
    expect(count('GET', 'k')).toBe(3);
  });

  it('applied-then-dropped conditional PUT: indeterminate, applied on the server, never retried', async () => {
    const r = backend();
    const v = await r.uploadConditional('k', b('one'), { ifAbsent: true });
    server.inject({ kind: 'drop', method: 'PUT', applied: true });
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('two'), { ifVersion: v }),
      'REMOTE_INDETERMINATE',
    );
    expect(err).toBeInstanceOf(IndeterminateRemoteError);
    expect(err.determinate).toBe(false);
    expect(count('PUT', 'k')).toBe(2);
    // The write did land: the caller finds out by reading back.
    expect(s(server.snapshot().get('k'))).toBe('two');
    expect(s(await r.download('k'))).toBe('two');
  });

  it('a 5xx answer to a conditional PUT is indeterminate (the body was sent) and not retried', async () => {
    const r = backend();
    server.inject({ kind: 'status', status: 500, method: 'PUT', applied: true });
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('x'), { ifAbsent: true }),
      'REMOTE_INDETERMINATE',
    );
    expect(err.status).toBe(500);
    expect(count('PUT', 'k')).toBe(1);
  });

  it('a dropped DELETE If-Match is indeterminate', async () => {
    const r = backend();
    const v = await r.uploadConditional('k', b('x'), { ifAbsent: true });
    server.inject({ kind: 'drop', method: 'DELETE' });
    await rejectsWith(r.deleteConditional('k', { ifVersion: v }), 'REMOTE_INDETERMINATE');
    expect(count('DELETE', 'k')).toBe(1);
  });

  it("maps S3's 409 ConditionalRequestConflict to PRECONDITION_FAILED, other 4xx to REMOTE_FAILED", async () => {
    const r = backend();
    server.inject({
      kind: 'status',
      status: 409,
      method: 'PUT',
      body: '<Error><Code>ConditionalRequestConflict</Code></Error>',
    });
    const conflict = await rejectsWith(
      r.uploadConditional('k', b('x'), { ifAbsent: true }),
      'PRECONDITION_FAILED',
    );
    expect(conflict).toBeInstanceOf(PreconditionFailedError);
    server.inject({ kind: 'status', status: 400, method: 'PUT' });
    const bad = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('x'), { ifAbsent: true }),
      'REMOTE_FAILED',
    );
    expect(bad.status).toBe(400);
    expect(bad.determinate).toBe(true);
    expect(server.snapshot().has('k')).toBe(false);
  });

  it('401 and 403 are UNAUTHORIZED; async headers are sent with every request', async () => {
    let calls = 0;
    const r = backend({ headers: async () => ({ Authorization: `Bearer token-${++calls}` }) });
    await r.upload('k', b('x'));
    await r.download('k');
    expect(server.requests.map((q) => q.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    server.inject({ kind: 'status', status: 401, method: 'PUT' });
    expect(await rejectsWith(r.upload('k', b('y')), 'UNAUTHORIZED')).toBeInstanceOf(UnauthorizedError);
    server.inject({ kind: 'status', status: 403, method: 'GET' });
    await rejectsWith(r.download('k'), 'UNAUTHORIZED');
  });

  it('a refused connection fails a write determinately: nothing was sent', async () => {
    const port = await freePort();
    const r = new HttpRemoteBackend({ baseUrl: `http://127.0.0.1:${port}/x`, ...fast });
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('x'), { ifAbsent: true }),
      'REMOTE_FAILED',
    );
    expect(err.message).toMatch(/ECONNREFUSED/);
    // No answer at all: the app may show "offline", and chainsync/sw registers a background sync.
    expect(err.network).toBe(true);
    const read = await rejectsWith<RemoteError>(r.download('k'), 'REMOTE_FAILED');
    expect(read.network).toBe(true);
  });

  it('honours the AbortSignal: before sending, and while a read waits', async () => {
    const controller = new AbortController();
    const r = backend({ signal: controller.signal });
    await r.upload('k', b('x'));
    server.behaviour.latencyMs = 500;
    const pending = r.download('k');
    setTimeout(() => controller.abort(), 20);
    expect(await rejectsWith(pending, 'ABORTED')).toBeInstanceOf(AbortedError);
    const before = server.requests.length;
    await rejectsWith(r.upload('k', b('y')), 'ABORTED');
    expect(server.requests.length).toBe(before);
  });

  it('refuses a weak ETag in a PUT response: the write landed, its version is unknown', async () => {
    const r = backend();
    server.behaviour.weakETags = true;
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('x'), { ifAbsent: true }),
      'REMOTE_INDETERMINATE',
    );
    expect(err.message).toMatch(/weak ETag/);
    expect(s(server.snapshot().get('k'))).toBe('x');
  });

  it('an object served without an ETag exists but has no version: UNSUPPORTED_SERVER, not absent', async () => {
    const noETag = new HttpRemoteBackend({
      baseUrl: server.baseUrl,
      fetch: async (url, init) => {
        const reply = await fetch(url, init);
        const headers = new Headers(reply.headers);
        headers.delete('etag');
        return new Response(reply.body, { status: reply.status, headers });
      },
    });
    await noETag.upload('k', b('x'));
    expect(await noETag.exists('k')).toBe(true);
    expect(s(await noETag.download('k'))).toBe('x');
    const err = await rejectsWith<UnsupportedServerError>(noETag.objectVersion('k'), 'UNSUPPORTED_SERVER');
    expect(err.message).toMatch(/no ETag/);
    await rejectsWith(noETag.downloadVersioned('k'), 'UNSUPPORTED_SERVER');
    const put = await rejectsWith(
      noETag.uploadConditional('k', b('y'), { ifAbsent: true }),
      'PRECONDITION_FAILED',
    );
    expect(put.message).toMatch(/already exists/);
    const applied = await rejectsWith(
      noETag.uploadConditional('new', b('y'), { ifAbsent: true }),
      'REMOTE_INDETERMINATE',
    );
    expect(applied.message).toMatch(/was applied, but the server sent no ETag/);
  });

  it('refuses keys that URL normalization would rewrite', async () => {
    const r = backend();
    for (const key of ['a/../b', './a', 'a/.']) await rejectsWith(r.upload(key, b('x')), 'INVALID_ARGUMENT');
    expect(server.requests.length).toBe(0);
  });

  it('refuses bad options with INVALID_ARGUMENT', async () => {
    for (const options of [
      { baseUrl: 'not a url' },
      { baseUrl: 'ftp://x/y' },
      { baseUrl: 'http://x/?q=1' },
    ]) {
      expect(() => new HttpRemoteBackend(options)).toThrow(/Invalid options.baseUrl/);
    }
    expect(() => new HttpRemoteBackend({ baseUrl: 'http://x', timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new HttpRemoteBackend({ baseUrl: 'http://x', list: 'xml' as never })).toThrow(
      /options.list/,
    );
    await expect(probeServer({ baseUrl: 'http://x', writers: 1 })).rejects.toThrow(/options.writers/);
    await expect(probeServer({ baseUrl: 'http://x', rounds: 0 })).rejects.toThrow(/options.rounds/);
  });
});

describe('envelope mode (servers with repeating ETags or DELETE ignoring If-Match)', () => {
  const enveloped = () =>
    backend({ list: 'json', quirks: { contentDerivedETags: true, deleteIgnoresIfMatch: true } });

  it('settles an applied-then-dropped conditional PUT by reading back its nonce', async () => {
    const r = enveloped();
    const v = await r.uploadConditional('k', b('one'), { ifAbsent: true });
    server.inject({ kind: 'drop', method: 'PUT', applied: true });
    const v2 = await r.uploadConditional('k', b('two'), { ifVersion: v });
    expect(v2).not.toBe(v);
    expect(await r.objectVersion('k')).toBe(v2);
    expect(count('PUT', 'k')).toBe(2);
  });

  it('settles a 5xx for a lost race as PRECONDITION_FAILED when another write from the same version is there', async () => {
    const r = enveloped();
    const v = await r.uploadConditional('k', b('one'), { ifAbsent: true });
    await r.uploadConditional('k', b('winner'), { ifVersion: v });
    server.inject({ kind: 'status', status: 500, method: 'PUT' });
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('loser'), { ifVersion: v }),
      'PRECONDITION_FAILED',
    );
    expect(err.message).toMatch(/won the race/);
    expect(s(await r.download('k'))).toBe('winner');
  });

  it('stays indeterminate when the read-back proves nothing', async () => {
    const r = enveloped();
    server.inject({ kind: 'drop', method: 'PUT' });
    await rejectsWith(r.uploadConditional('k', b('x'), { ifAbsent: true }), 'REMOTE_INDETERMINATE');
  });

  it('deletes by writing a tombstone with If-Match, never with an unconditional DELETE', async () => {
    const r = enveloped();
    const v = await r.uploadConditional('k', b('x'), { ifAbsent: true });
    await r.deleteConditional('k', { ifVersion: v });
    expect(count('DELETE', 'k')).toBe(0);
    expect(server.requests.at(-1)?.headers['if-match']).toBe(v);
    expect(server.snapshot().has('k')).toBe(true);
    expect(await r.exists('k')).toBe(false);
    expect(await r.download('k')).toBeNull();
    expect(await r.list!('')).toEqual([]);
  });

  it('reads objects written without an envelope as they are', async () => {
    await backend().upload('plain', b('raw bytes'));
    expect(s(await enveloped().download('plain'))).toBe('raw bytes');
  });
});

describe('connectRemote', () => {
  it('probes once per base URL and returns a working backend for a conforming server', async () => {
    const r = await connectRemote({ baseUrl: server.baseUrl, probe: { rounds: 2 } });
    const probeRequests = server.requests.length;
    expect(probeRequests).toBeGreaterThan(10);
    const again = await connectRemote({ baseUrl: `${server.baseUrl}/` });
    expect(server.requests.length).toBe(probeRequests);
    expect(again.quirks).toEqual(r.quirks);
    expect(Object.values(r.quirks).every((q) => q === false)).toBe(true);
    const v = await r.uploadConditional('k', b('x'), { ifAbsent: true });
    expect(await r.objectVersion('k')).toBe(v);
    // The probe cleaned up its scratch keys.
    expect([...server.snapshot().keys()]).toEqual(['k']);
  });

  it('does not remember a probe that failed: the next connect probes again', async () => {
    server.inject({ kind: 'drop', method: 'PUT' });
    // Its first request got no answer at all: as far as anyone can tell, the server is unreachable.
    await rejectsWith(connectRemote({ baseUrl: server.baseUrl }), 'REMOTE_UNREACHABLE');
    const r = await connectRemote({ baseUrl: server.baseUrl, probe: { rounds: 1 } });
    await r.upload('k', b('x'));
    expect(s(await r.download('k'))).toBe('x');
  });

  it('refuses a server that ignores preconditions, naming each failed check', async () => {
    server.behaviour.ignorePreconditions = true;
    const err = await rejectsWith<UnsupportedServerError>(
      connectRemote({ baseUrl: server.baseUrl }),
      'UNSUPPORTED_SERVER',
    );
    expect(err.failed).toEqual(['if-none-match', 'if-match-put', 'atomic-cas']);
    for (const check of err.failed) expect(err.message).toContain(`- ${check}:`);
    expect(err.message).toMatch(/precondition ignored/);
  });

  it('the probe says so when it has no access or the URL takes no writes', async () => {
    server.inject({ kind: 'status', status: 401, method: 'PUT' });
    await rejectsWith(connectRemote({ baseUrl: server.baseUrl }), 'UNAUTHORIZED');
    server.inject({ kind: 'status', status: 405, method: 'PUT' });
    const err = await rejectsWith(connectRemote({ baseUrl: server.baseUrl }), 'REMOTE_FAILED');
    expect(err.message).toMatch(/Check options.baseUrl/);
  });

  it('a failing headers function fails the request determinately, before anything is sent', async () => {
    const r = backend({
      headers: () => {
        throw new Error('token service down');
      },
    });
    const err = await rejectsWith(r.uploadConditional('k', b('x'), { ifAbsent: true }), 'REMOTE_FAILED');
    expect(err.message).toMatch(/token service down/);
    expect(server.requests.length).toBe(0);
  });

  it('refuses a server that sends weak ETags', async () => {
    server.behaviour.weakETags = true;
    const err = await rejectsWith<UnsupportedServerError>(
      connectRemote({ baseUrl: server.baseUrl, probe: { strongETagWaitMs: 50 } }),
      'UNSUPPORTED_SERVER',
    );
    expect(err.failed).toContain('strong-etags');
    expect(err.message).toMatch(/weak/);
  });
});
