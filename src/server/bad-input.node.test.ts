/**
 * Bad input to the reference server gets the right status and changes nothing on disk. Requests are
 * written byte for byte on a TCP socket: `fetch` would normalize `..` away or refuse to send them.
 * The server requires a token and limits bodies to 1 KiB; every case except the auth ones sends the
 * right token, so a 400/405/413 is never an auth refusal in disguise.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer } from './server.js';

const TOKEN = 'tok-3f9a';
const LIMIT = 1024;
const AUTH = `Authorization: Bearer ${TOKEN}`;

let dir: string;
let server: RunningServer;
let port: number;
let seedETag: string;

/** Every object file (name → sha256 of its bytes, ETag header included) and every temp file. */
async function diskState(): Promise<{ objects: Record<string, string>; tmp: string[] }> {
  const objects: Record<string, string> = {};
  for (const name of (await readdir(join(dir, 'objects'))).sort()) {
    objects[name] = createHash('sha256')
      .update(await readFile(join(dir, 'objects', name)))
      .digest('hex');
  }
  return { objects, tmp: await readdir(join(dir, 'tmp')) };
}

interface RawResponse {
  readonly status: number | null;
  readonly headers: string;
  readonly body: string;
}

/** Sends `request` verbatim and reads the response until the server closes the connection. */
function raw(request: string | Buffer, { endAfterWrite = false } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // A reset after the response is fine; the bytes are what count.
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      resolve({ status: status ? Number(status[1]) : null, headers: head, body });
    });
    socket.write(request);
    if (endAfterWrite) socket.end();
  });
}

/** A request with Host, Connection: close and (unless `auth` is false) the right token. */
function request(
  method: string,
  target: string,
  { headers = [] as string[], body = 'evil', auth = true, length = true } = {},
): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  if (auth) lines.push(AUTH);
  lines.push(...headers);
  if (length) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-bad-input-'));
  server = await startServer({ dir, port: 0, token: TOKEN, maxBodyBytes: LIMIT });
  port = Number(new URL(server.url).port);
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const seeded = await fetch(`${server.url}a/b`, { method: 'PUT', body: 'seed', headers: auth });
  expect(seeded.status).toBe(201);
  seedETag = seeded.headers.get('ETag')!;
  expect((await fetch(`${server.url}x`, { method: 'PUT', body: 'x', headers: auth })).status).toBe(201);
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const long = 'k'.repeat(1025);

/** [name, request, expected status]. */
const cases: [string, () => string, number][] = [
  // Keys: traversal in every spelling, empty segments, separators and controls (400).
  ['PUT /../x', () => request('PUT', '/../x'), 400],
  ['PUT /a/../b', () => request('PUT', '/a/../b'), 400],
  ['PUT /a/b/../../x', () => request('PUT', '/a/b/../../x'), 400],
  ['PUT /./a', () => request('PUT', '/./a'), 400],
  ['PUT /a/./b', () => request('PUT', '/a/./b'), 400],
  ['PUT /a/..', () => request('PUT', '/a/..'), 400],
  ['PUT /%2e%2e/x (encoded ..)', () => request('PUT', '/%2e%2e/x'), 400],
  ['PUT /a/%2E%2E/b (encoded .., upper case)', () => request('PUT', '/a/%2E%2E/b'), 400],
  ['PUT /a%2f..%2fb (encoded / and ..)', () => request('PUT', '/a%2f..%2fb'), 400],
  ['PUT /a/%2e/b (encoded .)', () => request('PUT', '/a/%2e/b'), 400],
  ['PUT /a//b (empty segment)', () => request('PUT', '/a//b'), 400],
  ['PUT //a (leading empty segment)', () => request('PUT', '//a'), 400],
  ['PUT /a/ (trailing empty segment)', () => request('PUT', '/a/'), 400],
  ['PUT / (empty key)', () => request('PUT', '/'), 400],
  ['PUT /a\\b (raw backslash)', () => request('PUT', '/a\\b'), 400],
  ['PUT /a%5cb (encoded backslash)', () => request('PUT', '/a%5cb'), 400],
  ['PUT /a%5c..%5cb (encoded backslash traversal)', () => request('PUT', '/a%5c..%5cb'), 400],
  ['PUT /a%00b (NUL)', () => request('PUT', '/a%00b'), 400],
  ['PUT /a%0ab (newline)', () => request('PUT', '/a%0ab'), 400],
  ['PUT /a%7fb (DEL)', () => request('PUT', '/a%7fb'), 400],
  ['PUT /a%c2%85b (C1 control)', () => request('PUT', '/a%c2%85b'), 400],
  ['PUT /%ff (invalid UTF-8)', () => request('PUT', '/%ff'), 400],
  ['PUT /%zz (malformed escape)', () => request('PUT', '/%zz'), 400],
  ['PUT /a% (truncated escape)', () => request('PUT', '/a%'), 400],
  ['PUT /<1025-byte key>', () => request('PUT', `/${long}`), 400],
  ['PUT http://x/a (absolute-form target)', () => request('PUT', 'http://127.0.0.1/a'), 400],
  ['DELETE /a/b/.. (traversal)', () => request('DELETE', '/a/b/..', { body: '' }), 400],
  ['DELETE /%2e%2e/a/b (encoded traversal)', () => request('DELETE', '/%2e%2e/a/b', { body: '' }), 400],
  ['DELETE / (empty key)', () => request('DELETE', '/', { body: '' }), 400],
  ['GET /../etc/passwd', () => request('GET', '/../etc/passwd', { body: '' }), 400],
  // Conditional headers that do not parse (400): guessing could let a stale write through.
  ['If-Match: unquoted', () => request('PUT', '/a/b', { headers: ['If-Match: abc'] }), 400],
  ['If-Match: unterminated', () => request('PUT', '/a/b', { headers: ['If-Match: "abc'] }), 400],
  [
    'If-Match: two tags, no comma',
    () => request('PUT', '/a/b', { headers: [`If-Match: ${seedETag} "b"`] }),
    400,
  ],
  ['If-Match: space inside tag', () => request('PUT', '/a/b', { headers: ['If-Match: "a b"'] }), 400],
  ['If-Match: only commas', () => request('PUT', '/a/b', { headers: ['If-Match: , ,'] }), 400],
  ['If-Match: W/ unquoted', () => request('PUT', '/a/b', { headers: ['If-Match: W/abc'] }), 400],
  ['If-None-Match: unquoted', () => request('PUT', '/new', { headers: ['If-None-Match: abc'] }), 400],
  [
    'If-Match: malformed on DELETE',
    () => request('DELETE', '/a/b', { headers: ['If-Match: x'], body: '' }),
    400,
  ],
  // Malformed HTTP framing, refused by Node's parser (400).
  [
    'Content-Length: abc',
    () => request('PUT', '/a/b', { headers: ['Content-Length: abc'], length: false }),
    400,
  ],
  [
    'Content-Length and Transfer-Encoding together',
    () =>
      request('PUT', '/a/b', {
        headers: ['Content-Length: 4', 'Transfer-Encoding: chunked'],
        body: '4\r\nevil\r\n0\r\n\r\n',
        length: false,
      }),
    400,
  ],
  [
    'two different Content-Lengths',
    () => request('PUT', '/a/b', { headers: ['Content-Length: 4', 'Content-Length: 5'], length: false }),
    400,
  ],
  ['header line without a colon', () => request('PUT', '/a/b', { headers: ['Garbage'] }), 400],
  [
    'control character in a header value',
    () => request('PUT', '/a/b', { headers: ['X-Note: a\u0001b'] }),
    400,
  ],
  [
    'malformed chunk size',
    () =>
      request('PUT', '/a/b', {
        headers: ['Transfer-Encoding: chunked'],
        body: 'zz\r\nevil\r\n0\r\n\r\n',
        length: false,
      }),
    400,
  ],
  ['space in the request target', () => request('PUT', '/a b'), 400],
  // Bodies over the limit (413): from Content-Length before reading, and while streaming chunks.
  [
    'Content-Length over the limit (new key)',
    () => request('PUT', '/big', { headers: [`Content-Length: ${LIMIT + 1}`], body: '', length: false }),
    413,
  ],
  [
    'Content-Length over the limit (replacing, If-Match current)',
    () =>
      request('PUT', '/a/b', {
        headers: [`If-Match: ${seedETag}`, `Content-Length: ${LIMIT * 4}`],
        body: '',
        length: false,
      }),
    413,
  ],
  [
    'chunked body growing past the limit',
    () =>
      request('PUT', '/a/b', {
        headers: ['Transfer-Encoding: chunked'],
        body: `200\r\n${'e'.repeat(512)}\r\n`.repeat(3) + '0\r\n\r\n',
        length: false,
      }),
    413,
  ],
  // Authentication (401).
  ['PUT without Authorization', () => request('PUT', '/a/b', { auth: false }), 401],
  [
    'PUT with a wrong token',
    () => request('PUT', '/a/b', { auth: false, headers: ['Authorization: Bearer nope'] }),
    401,
  ],
  [
    'PUT with the token as Basic credentials',
    () => request('PUT', '/a/b', { auth: false, headers: [`Authorization: Basic ${btoa(`${TOKEN}:`)}`] }),
    401,
  ],
  [
    'PUT with "Bearer" and no token',
    () => request('PUT', '/a/b', { auth: false, headers: ['Authorization: Bearer'] }),
    401,
  ],
  [
    'PUT with the token plus trailing junk',
    () => request('PUT', '/a/b', { auth: false, headers: [`Authorization: Bearer ${TOKEN} x`] }),
    401,
  ],
  [
    'PUT with a token prefix',
    () => request('PUT', '/a/b', { auth: false, headers: [`Authorization: Bearer ${TOKEN.slice(0, -1)}`] }),
    401,
  ],
  ['DELETE without Authorization', () => request('DELETE', '/a/b', { auth: false, body: '' }), 401],
  ['GET without Authorization', () => request('GET', '/a/b', { auth: false, body: '' }), 401],
  ['LIST without Authorization', () => request('GET', '/?list=', { auth: false, body: '' }), 401],
  ['traversal key without Authorization (auth first)', () => request('PUT', '/../x', { auth: false }), 401],
  // Methods the server does not implement (405).
  ['POST', () => request('POST', '/a/b'), 405],
  ['PATCH', () => request('PATCH', '/a/b'), 405],
  ['PROPFIND', () => request('PROPFIND', '/a/b', { body: '' }), 405],
  ['MKCOL', () => request('MKCOL', '/a/c', { body: '' }), 405],
  ['MOVE', () => request('MOVE', '/a/b', { headers: ['Destination: /x'], body: '' }), 405],
  ['TRACE', () => request('TRACE', '/a/b', { body: '' }), 405],
  // LIST without the list parameter (400).
  ['GET / without ?list=', () => request('GET', '/', { body: '' }), 400],
];

describe('bad input changes nothing', () => {
  it.each(cases)('%s → %i', async (_name, build, expected) => {
    const before = await diskState();
    const response = await raw(build());
    expect(response.status).toBe(expected);
    if (expected === 401) expect(response.headers).toMatch(/^WWW-Authenticate: Bearer realm="chainsync"/im);
    if (expected === 405) expect(response.headers).toMatch(/^Allow: GET, HEAD, PUT, DELETE, OPTIONS$/im);
    if (/^Access-Control-Allow-Origin/im.test(response.headers)) {
      // The server's own refusals (not the parser's) say what to do in a JSON body.
      expect(JSON.parse(response.body)).toMatchObject({
        error: expect.any(String),
        message: expect.any(String),
      });
    }
    expect(await diskState()).toEqual(before);
  });

  it('a body cut off by the client (FIN before Content-Length bytes) → 400, nothing written', async () => {
    const before = await diskState();
    const truncated = request('PUT', '/a/b', {
      headers: ['Content-Length: 100'],
      body: 'only ten b',
      length: false,
    });
    const response = await raw(truncated, { endAfterWrite: true });
    expect(response.status).toBe(400);
    // The temp file is removed when the aborted upload unwinds, which may trail the 400.
    await vi.waitFor(async () => expect(await diskState()).toEqual(before));
    const seed = await fetch(`${server.url}a/b`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(seed.headers.get('ETag')).toBe(seedETag);
    expect(await seed.text()).toBe('seed');
  });

  it('Expect: 100-continue: a refused upload is answered before the body is sent, an accepted one after 100', async () => {
    const before = await diskState();
    const headersOnly = (ifMatch: string): string =>
      request('PUT', '/a/b', {
        headers: ['Expect: 100-continue', `If-Match: ${ifMatch}`, 'Content-Length: 4'],
        body: '',
        length: false,
      });
    const refused = await raw(headersOnly('"stale"'));
    expect(refused.status).toBe(412);
    expect(await diskState()).toEqual(before);

    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        resolve();
      });
      socket.write(headersOnly(seedETag));
    });
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    const final = await new Promise<string>((resolve) => {
      socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
      socket.write('seed');
    });
    expect(final).toMatch(/HTTP\/1\.1 204 No Content/);
    seedETag = /^ETag: (.+)$/im.exec(final)![1]!.trim();
  });

  it('control: the same requests done right do change the disk (the snapshot can see changes)', async () => {
    const before = await diskState();
    const response = await raw(
      request('PUT', '/a/b', { headers: [`If-Match: ${seedETag}`], body: 'e'.repeat(LIMIT) }),
    );
    expect(response.status).toBe(204);
    const after = await diskState();
    expect(after).not.toEqual(before);
    expect(Object.keys(after.objects)).toEqual(Object.keys(before.objects));
    expect(after.tmp).toEqual([]);
  });
});
