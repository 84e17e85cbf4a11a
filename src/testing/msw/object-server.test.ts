import { describe, expect, it } from 'vitest';
import { createObjectServer } from './object-server.js';
import { inProcessFetch } from './in-process-fetch.js';
import { probeServer } from '../../remote/http/probe.js';

function setup(options: Parameters<typeof createObjectServer>[0] = { baseUrl: 'https://o.test/s' }) {
  const server = createObjectServer(options);
  const fetch = inProcessFetch(server.handlers);
  const url = (key: string) => `${server.baseUrl}/${key}`;
  const put = (key: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url(key), { method: 'PUT', body, headers });
  return { server, fetch, url, put };
}

describe('msw object server (RFC 9110 conditional requests)', () => {
  it('gives strong ETags unique per write, also for the same bytes', async () => {
    const { put, fetch, url } = setup();
    const first = await put('k', 'same');
    const second = await put('k', 'same');
    expect(first.status).toBe(201);
    expect(second.status).toBe(204);
    const tags = [first.headers.get('etag'), second.headers.get('etag')];
    expect(tags.every((t) => /^"[^"]+"$/.test(t ?? ''))).toBe(true);
    expect(tags[0]).not.toBe(tags[1]);
    const head = await fetch(url('k'), { method: 'HEAD' });
    expect(head.headers.get('etag')).toBe(tags[1]);
    expect(head.headers.get('content-length')).toBe('4');
  });

  it('evaluates If-Match and If-None-Match on PUT, DELETE and GET', async () => {
    const { put, fetch, url } = setup();
    expect((await put('k', 'x', { 'If-Match': '*' })).status).toBe(412);
    const etag = (await put('k', 'x', { 'If-None-Match': '*' })).headers.get('etag')!;
    expect((await put('k', 'y', { 'If-None-Match': '*' })).status).toBe(412);
    expect((await put('k', 'y', { 'If-Match': '"stale"' })).status).toBe(412);
    // Strong comparison: the weak form of the current tag does not match.
    expect((await put('k', 'y', { 'If-Match': `W/${etag}` })).status).toBe(412);
    expect((await fetch(url('k'), { method: 'DELETE', headers: { 'If-Match': '"stale"' } })).status).toBe(
      412,
    );
    expect((await fetch(url('k'), { headers: { 'If-None-Match': `W/${etag}` } })).status).toBe(304);
    expect((await fetch(url('k'), { headers: { 'If-Match': '"stale"' } })).status).toBe(412);
    const got = await fetch(url('k'), { headers: { 'If-Match': `"other", ${etag}` } });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('x');
    const next = (await put('k', 'z', { 'If-Match': etag })).headers.get('etag')!;
    expect((await fetch(url('k'), { method: 'DELETE', headers: { 'If-Match': next } })).status).toBe(204);
    expect((await fetch(url('k'))).status).toBe(404);
  });

  it('lists keys under a directory, relative to it', async () => {
    const { put, fetch, server } = setup();
    for (const key of ['d/p/2', 'd/p/1', 'd/q', 'e/p/1']) await put(key, key);
    const listed = await fetch(`${server.baseUrl}/d/?list=p/`);
    expect(await listed.json()).toEqual({ keys: ['p/1', 'p/2'], bytes: [5, 5] });
    server.behaviour.list = false;
    expect((await fetch(`${server.baseUrl}/?list=`)).status).toBe(404);
  });

  it('as a broken server, ignores preconditions; with weak ETags, matches nothing by If-Match', async () => {
    const broken = setup({ baseUrl: 'https://broken.test', ignorePreconditions: true });
    await broken.put('k', 'x');
    expect((await broken.put('k', 'stale write', { 'If-Match': '"stale"' })).status).toBe(204);
    const weak = setup({ baseUrl: 'https://weak.test', weakETags: true });
    const etag = (await weak.put('k', 'x')).headers.get('etag')!;
    expect(etag.startsWith('W/"')).toBe(true);
    expect((await weak.put('k', 'y', { 'If-Match': etag })).status).toBe(412);
    expect((await weak.put('k', 'y', { 'If-Match': etag.slice(2) })).status).toBe(412);
  });

  it('injects faults: 5xx before or after applying, dropped connections', async () => {
    const { put, server, fetch, url } = setup();
    server.inject({ kind: 'status', status: 503, method: 'PUT' });
    expect((await put('k', 'lost')).status).toBe(503);
    expect(server.snapshot().has('k')).toBe(false);
    server.inject({ kind: 'status', status: 500, method: 'PUT', applied: true });
    expect((await put('k', 'kept')).status).toBe(500);
    expect(new TextDecoder().decode(server.snapshot().get('k'))).toBe('kept');
    server.inject({ kind: 'drop', method: 'PUT', applied: true, times: 2 });
    await expect(put('k', 'dropped-1')).rejects.toThrow(TypeError);
    await expect(put('k', 'dropped-2')).rejects.toThrow(TypeError);
    expect(new TextDecoder().decode(server.snapshot().get('k'))).toBe('dropped-2');
    expect((await fetch(url('k'))).status).toBe(200);
    expect(server.requests.map((r) => r.method)).toEqual(['PUT', 'PUT', 'PUT', 'PUT', 'GET']);
  });

  it('with changeSignal, holds a waiting GET until its object changes, as the reference server does; without it, ignores Prefer', async () => {
    const { put, server, fetch, url } = setup({ baseUrl: 'https://signal.test/s', changeSignal: true });
    const first = (await put('k', 'v1')).headers.get('etag')!;
    const waiting = fetch(url('k'), { headers: { 'If-None-Match': first, Prefer: 'wait=60' } });
    // Logged, then held in the same synchronous step: once the GET shows in the log, it waits.
    while (!server.requests.some((r) => r.method === 'GET')) await new Promise((r) => setTimeout(r, 0));
    const second = (await put('k', 'v2')).headers.get('etag');
    const answer = await waiting;
    expect([answer.status, answer.headers.get('etag'), await answer.text()]).toEqual([200, second, 'v2']);
    expect(answer.headers.get('preference-applied')).toBe('wait=60');
    const probe = await fetch(url('k'), { headers: { 'If-None-Match': second!, Prefer: 'wait=0' } });
    expect([probe.status, probe.headers.get('preference-applied')]).toEqual([304, 'wait=0']);
    const created = fetch(url('new'), { headers: { Prefer: 'wait=60' } });
    while (!server.requests.some((r) => r.key === 'new')) await new Promise((r) => setTimeout(r, 0));
    await put('new', 'n');
    expect((await created).status).toBe(200);
    expect((await probeServer({ baseUrl: server.baseUrl, fetch, rounds: 1 })).changeSignal).toBe(true);

    const plain = setup({ baseUrl: 'https://plain.test/s' });
    const etag = (await plain.put('k', 'v')).headers.get('etag')!;
    const answered = await plain.fetch(plain.url('k'), {
      headers: { 'If-None-Match': etag, Prefer: 'wait=60' },
    });
    expect([answered.status, answered.headers.get('preference-applied')]).toEqual([304, null]);
  });
});
