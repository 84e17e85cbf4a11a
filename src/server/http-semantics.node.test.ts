/**
 * The reference server's HTTP semantics through real `fetch` against a real listener on 127.0.0.1.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from './server.js';
import { isChainsyncError } from '../contracts/errors.js';

let dir: string;
let server: RunningServer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-server-'));
  server = await startServer({ dir, port: 0 });
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const url = (key: string): string => server.url + key.split('/').map(encodeURIComponent).join('/');

async function put(
  key: string,
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
) {
  return fetch(url(key), { method: 'PUT', body, headers });
}

async function create(key: string, body: string): Promise<string> {
  const response = await put(key, body, { 'If-None-Match': '*' });
  expect(response.status).toBe(201);
  return response.headers.get('ETag')!;
}

async function read(key: string): Promise<{ status: number; etag: string | null; text: string }> {
  const response = await fetch(url(key));
  return { status: response.status, etag: response.headers.get('ETag'), text: await response.text() };
}

describe('PUT', () => {
  it('creates with If-None-Match: * (201 + strong ETag) and refuses a second create (412)', async () => {
    const etag = await create('notes/a', 'one');
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await put('notes/a', 'two', { 'If-None-Match': '*' });
    expect(again.status).toBe(412);
    expect(again.headers.get('ETag')).toBeNull();
    expect(await read('notes/a')).toEqual({ status: 200, etag, text: 'one' });
  });

  it('replaces with If-Match on the current ETag (204 + a new ETag); a stale one gets 412', async () => {
    const first = await create('k', 'one');
    const replaced = await put('k', 'two', { 'If-Match': first });
    expect(replaced.status).toBe(204);
    const second = replaced.headers.get('ETag')!;
    expect(second).toMatch(/^"[^"]+"$/);
    expect(second).not.toBe(first);
    expect((await put('k', 'stale', { 'If-Match': first })).status).toBe(412);
    expect(await read('k')).toEqual({ status: 200, etag: second, text: 'two' });
  });

  it('If-Match accepts a list of tags and *; uses strong comparison (a W/ tag never matches)', async () => {
    const first = await create('k', 'one');
    expect((await put('k', 'weak', { 'If-Match': `W/${first}` })).status).toBe(412);
    const listed = await put('k', 'two', { 'If-Match': `"other", ${first}, "x,y"` });
    expect(listed.status).toBe(204);
    const star = await put('k', 'three', { 'If-Match': '*' });
    expect(star.status).toBe(204);
    expect(await read('k')).toMatchObject({ text: 'three', etag: star.headers.get('ETag') });
  });

  it('If-Match: * on an absent key fails (412) and creates nothing', async () => {
    expect((await put('absent', 'x', { 'If-Match': '*' })).status).toBe(412);
    expect((await put('absent', 'x', { 'If-Match': '"abc"' })).status).toBe(412);
    expect((await read('absent')).status).toBe(404);
  });

  it('unconditional PUT creates (201) then replaces (204)', async () => {
    expect((await put('u', 'one')).status).toBe(201);
    expect((await put('u', 'two')).status).toBe(204);
    expect((await read('u')).text).toBe('two');
  });

  it('gives every write a new ETag, even for identical bytes and after delete + recreate (no ABA)', async () => {
    const seen = new Set<string>();
    let etag = await create('aba', 'same');
    seen.add(etag);
    for (let i = 0; i < 5; i++) {
      const response = await put('aba', 'same', { 'If-Match': etag });
      expect(response.status).toBe(204);
      etag = response.headers.get('ETag')!;
      seen.add(etag);
    }
    const deleted = await fetch(url('aba'), { method: 'DELETE', headers: { 'If-Match': etag } });
    expect(deleted.status).toBe(204);
    const recreated = await create('aba', 'same');
    expect(seen.has(recreated)).toBe(false);
    // A writer still holding the old version cannot overwrite the recreated object.
    expect((await put('aba', 'late', { 'If-Match': etag })).status).toBe(412);
    expect(seen.size).toBe(6);
  });

  it('round-trips 1 MiB of random bytes exactly', async () => {
    const bytes = Uint8Array.from(randomBytes(1024 * 1024));
    expect((await put('bin/blob', bytes)).status).toBe(201);
    const response = await fetch(url('bin/blob'));
    expect(response.headers.get('Content-Length')).toBe(String(bytes.length));
    // Buffer.equals: a deep toEqual over a million elements takes seconds.
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('stores an empty body as an empty object', async () => {
    expect((await put('empty', '')).status).toBe(201);
    expect(await read('empty')).toMatchObject({ status: 200, text: '' });
  });
});

describe('GET and HEAD', () => {
  it('GET returns bytes, strong ETag, length; HEAD the same headers without a body', async () => {
    const etag = await create('a/b/c', 'hello');
    const got = await fetch(url('a/b/c'));
    expect(got.status).toBe(200);
    expect(got.headers.get('ETag')).toBe(etag);
    expect(got.headers.get('Content-Length')).toBe('5');
    expect(await got.text()).toBe('hello');
    const head = await fetch(url('a/b/c'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('ETag')).toBe(etag);
    expect(head.headers.get('Content-Length')).toBe('5');
    expect(await head.text()).toBe('');
  });

  it('404 for an absent key; 412 when If-Match is sent for it', async () => {
    expect((await fetch(url('nope'))).status).toBe(404);
    expect((await fetch(url('nope'), { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(url('nope'), { headers: { 'If-Match': '*' } })).status).toBe(412);
  });

  it('If-None-Match on the current ETag (weak comparison) → 304 with the ETag; otherwise 200', async () => {
    const etag = await create('cached', 'v');
    for (const tag of [etag, `W/${etag}`, '*', `"x", ${etag}`]) {
      const response = await fetch(url('cached'), { headers: { 'If-None-Match': tag } });
      expect(response.status).toBe(304);
      expect(response.headers.get('ETag')).toBe(etag);
    }
    expect((await fetch(url('cached'), { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
  });

  it('If-Match on GET: 412 when it does not match, 200 when it does', async () => {
    const etag = await create('m', 'v');
    expect((await fetch(url('m'), { headers: { 'If-Match': '"other"' } })).status).toBe(412);
    expect((await fetch(url('m'), { headers: { 'If-Match': etag } })).status).toBe(200);
  });

  it('keys with spaces, unicode, % and + round-trip through percent-encoding', async () => {
    for (const key of ['with space', 'ünï/cødé', '100%/a+b', 'q?x=1#y']) {
      const etag = await create(key, key);
      expect(await read(key)).toEqual({ status: 200, etag, text: key });
    }
  });
});

describe('DELETE', () => {
  it('honors If-Match: stale → 412 (object kept), current → 204 (object gone)', async () => {
    const first = await create('d', 'one');
    const second = (await put('d', 'two', { 'If-Match': first })).headers.get('ETag')!;
    expect((await fetch(url('d'), { method: 'DELETE', headers: { 'If-Match': first } })).status).toBe(412);
    expect((await read('d')).text).toBe('two');
    expect((await fetch(url('d'), { method: 'DELETE', headers: { 'If-Match': second } })).status).toBe(204);
    expect((await read('d')).status).toBe(404);
  });

  it('absent key: 404 unconditionally, 412 with If-Match', async () => {
    expect((await fetch(url('gone'), { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(url('gone'), { method: 'DELETE', headers: { 'If-Match': '*' } })).status).toBe(412);
  });

  it('unconditional DELETE removes the object', async () => {
    await create('d2', 'x');
    expect((await fetch(url('d2'), { method: 'DELETE' })).status).toBe(204);
    expect((await read('d2')).status).toBe(404);
  });
});

describe('LIST', () => {
  it('GET /?list=<prefix> returns the matching keys sorted, with their sizes', async () => {
    for (const key of ['v/2', 'v/10', 'latest', 'v/1', 'w/1', 'v a/1']) await create(key, key);
    const list = async (prefix: string) =>
      (await (await fetch(`${server.url}?list=${encodeURIComponent(prefix)}`)).json()) as { keys: string[] };
    // Each object's bytes are its key (create(key, key)).
    expect(await list('v/')).toEqual({ keys: ['v/1', 'v/10', 'v/2'], bytes: [3, 4, 3] });
    expect(await list('')).toEqual({
      keys: ['latest', 'v a/1', 'v/1', 'v/10', 'v/2', 'w/1'],
      bytes: [6, 5, 3, 4, 3, 3],
    });
    expect(await list('zzz')).toEqual({ keys: [], bytes: [] });
    await fetch(url('v/10'), { method: 'DELETE' });
    expect(await list('v/')).toEqual({ keys: ['v/1', 'v/2'], bytes: [3, 3] });
    const head = await fetch(`${server.url}?list=v/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('CORS', () => {
  it('answers preflights without auth and exposes ETag on every response, errors included', async () => {
    await server.close();
    server = await startServer({ dir, port: 0, token: 's3cret' });
    const preflight = await fetch(url('k'), {
      method: 'OPTIONS',
      headers: {
        Origin: 'http://app.example',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'authorization, if-match, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('PUT');
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('DELETE');
    const allowed = preflight.headers.get('Access-Control-Allow-Headers')!.toLowerCase();
    for (const header of ['authorization', 'if-match', 'if-none-match', 'content-type']) {
      expect(allowed).toContain(header);
    }
    const auth = { Authorization: 'Bearer s3cret', Origin: 'http://app.example' };
    const created = await put('k', 'x', { ...auth, 'If-None-Match': '*' });
    const refused = await put('k', 'x', { ...auth, 'If-None-Match': '*' });
    const unauthorized = await fetch(url('k'), { headers: { Origin: 'http://app.example' } });
    for (const response of [created, refused, unauthorized]) {
      expect(response.headers.get('Access-Control-Allow-Origin')).toBe('*');
      expect(response.headers.get('Access-Control-Expose-Headers')).toMatch(/\bETag\b/);
    }
    expect([created.status, refused.status, unauthorized.status]).toEqual([201, 412, 401]);
  });
});

describe('bearer token', () => {
  it('401 with WWW-Authenticate without or with a wrong token; works with the right one', async () => {
    await server.close();
    server = await startServer({ dir, port: 0, token: 's3cret' });
    const missing = await fetch(url('k'));
    expect(missing.status).toBe(401);
    expect(missing.headers.get('WWW-Authenticate')).toBe('Bearer realm="chainsync"');
    const wrong = await fetch(url('k'), { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    const right = await put('k', 'x', { Authorization: 'bearer s3cret' });
    expect(right.status).toBe(201);
    expect((await fetch(url('k'), { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200);
  });
});

describe('persistence and start-up', () => {
  it('keeps objects and their ETags across a restart', async () => {
    const etag = await create('p/q', 'durable');
    await server.close();
    server = await startServer({ dir, port: 0 });
    expect(await read('p/q')).toEqual({ status: 200, etag, text: 'durable' });
    expect((await put('p/q', 'next', { 'If-Match': etag })).status).toBe(204);
  });

  it('at start-up discards interrupted writes in tmp/ and ignores files that are not objects', async () => {
    const etag = await create('kept', 'v');
    await server.close();
    await writeFile(join(dir, 'tmp', 'interrupted-write'), 'half an obj');
    await writeFile(join(dir, 'objects', 'not-an-object.txt'), 'junk');
    await writeFile(join(dir, 'objects', 'f'.repeat(64)), 'no magic header');
    const warnings: unknown[] = [];
    const warn = vi
      .spyOn(console, 'warn')
      .mockImplementation((...args) => void warnings.push(args.join(' ')));
    try {
      server = await startServer({ dir, port: 0 });
    } finally {
      warn.mockRestore();
    }
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(await (await fetch(`${server.url}?list=`)).json()).toEqual({ keys: ['kept'], bytes: [1] });
    expect(await read('kept')).toEqual({ status: 200, etag, text: 'v' });
  });

  it('refuses a second server on the same directory', async () => {
    const second = startServer({ dir, port: 0 });
    await expect(second).rejects.toSatisfy((error) => isChainsyncError(error, 'DIRECTORY_IN_USE'));
    await expect(second).rejects.toThrow(/in use by another chainsync-server/);
  });

  it('validates its options with typed errors', async () => {
    const bad = [
      { dir: '', port: 0 },
      { dir, port: -1 },
      { dir, port: 1.5 },
      { dir, port: 70000 },
      { dir, port: 0, token: '' },
      { dir, port: 0, token: 'has space' },
      { dir, port: 0, maxBodyBytes: -1 },
      { dir, port: 0, host: '' },
    ];
    for (const options of bad) {
      await expect(startServer(options)).rejects.toSatisfy((error) =>
        isChainsyncError(error, 'INVALID_ARGUMENT'),
      );
    }
  });
});
