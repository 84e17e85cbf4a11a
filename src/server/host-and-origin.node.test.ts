/**
 * Who may reach the reference server: the `Host` a request names must be the server's (a page
 * whose own name was rebound to 127.0.0.1 — DNS rebinding — names its own host), and a web page
 * (a request with `Origin`) must come from an allowed origin: none without a token unless
 * configured, any with a token (the page must know it). Every response states the body limit.
 * Requests go through `node:http`, which sends `Host` and `Origin` exactly as given.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isChainsyncError } from '../contracts/errors.js';
import { MAX_OBJECT_BYTES_HEADER } from '../contracts/remote-backend.js';
import type { ServerOptions } from './server-options.js';
import { startServer } from './server.js';
import { serverPerTest } from '../test-support/temp-server.js';

const temp = serverPerTest('exposure');
const start = temp.start;

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request with exactly these headers (`host` replaces the one Node would send). */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  const { hostname, port } = new URL(temp.server!.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: hostname, port, method, path, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: text }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const PAGE = 'http://localhost:5173';
const EVIL = 'https://evil.example';

describe('Host', () => {
  it('a name that is not the server’s (a rebound DNS name) is refused with 421 and a message', async () => {
    const { url } = await start();
    const { port } = new URL(url);
    const reply = await send('GET', '/k', { host: `evil.example:${port}` });
    expect(reply.status).toBe(421);
    expect(JSON.parse(reply.body)).toMatchObject({ error: 'misdirected_request' });
    expect(JSON.parse(reply.body).message).toMatch(/evil\.example.*--allowed-host/);
    // Nothing the refusal could leak to a rebound page: no CORS grant either.
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
    const write = await send('PUT', '/k', { host: `evil.example:${port}` }, 'v');
    expect(write.status).toBe(421);
    expect((await send('GET', '/k')).status).toBe(404);
  });

  it('the listen address, localhost and IP literals are the server’s own names', async () => {
    const { url } = await start();
    const { port } = new URL(url);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      `[::1]:${port}`,
      'app.localhost',
    ]) {
      expect((await send('GET', '/k', { host })).status, host).toBe(404);
    }
  });

  it('allowedHosts adds names, and a leading dot a domain with its subdomains', async () => {
    await start({ allowedHosts: ['sync.example.com', '.corp.example'] });
    for (const host of ['sync.example.com', 'sync.example.com:443', 'corp.example', 'a.b.corp.example']) {
      expect((await send('GET', '/k', { host })).status, host).toBe(404);
    }
    for (const host of ['example.com', 'x.sync.example.com', 'evilcorp.example']) {
      expect((await send('GET', '/k', { host })).status, host).toBe(421);
    }
  });
});

describe('Origin, without a token', () => {
  it('refuses every web page by default (403 with a message, no CORS grant), preflights included', async () => {
    await start();
    const read = await send('GET', '/k', { origin: EVIL });
    expect(read.status).toBe(403);
    expect(JSON.parse(read.body)).toMatchObject({ error: 'origin_not_allowed' });
    expect(JSON.parse(read.body).message).toMatch(/https:\/\/evil\.example.*--allow-origin/);
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await send('OPTIONS', '/k', {
      origin: EVIL,
      'access-control-request-method': 'PUT',
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect((await send('PUT', '/k', { origin: EVIL }, 'v')).status).toBe(403);
    // Programs that are not web pages send no Origin and are served.
    expect((await send('GET', '/k')).status).toBe(404);
  });

  it('allows exactly the configured origins, naming the origin in the grant', async () => {
    await start({ allowOrigins: [PAGE] });
    const preflight = await send('OPTIONS', '/k', { origin: PAGE, 'access-control-request-method': 'PUT' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(PAGE);
    expect(preflight.headers['access-control-allow-methods']).toMatch(/PUT/);
    expect(preflight.headers.vary).toMatch(/Origin/);
    const write = await send('PUT', '/k', { origin: PAGE }, 'v');
    expect(write.status).toBe(201);
    expect(write.headers['access-control-allow-origin']).toBe(PAGE);
    expect(write.headers.vary).toMatch(/Origin/);
    expect((await send('GET', '/k', { origin: 'http://localhost:5174' })).status).toBe(403);
    expect((await send('GET', '/k', { origin: 'null' })).status).toBe(403);
  });

  it('"*" opens it to every page, as asked', async () => {
    await start({ allowOrigins: ['*'] });
    const reply = await send('GET', '/k', { origin: EVIL });
    expect(reply.status).toBe(404);
    expect(reply.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('Origin, with a token', () => {
  it('any page may call: it must know the token, which a browser never sends on its own', async () => {
    await start({ token: 'tok' });
    const unauthenticated = await send('GET', '/k', { origin: EVIL });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe('*');
    const preflight = await send('OPTIONS', '/k', { origin: EVIL, 'access-control-request-method': 'PUT' });
    expect(preflight.status).toBe(204);
    const authenticated = await send('PUT', '/k', { origin: EVIL, authorization: 'Bearer tok' }, 'v');
    expect(authenticated.status).toBe(201);
  });

  it('a configured list still applies', async () => {
    await start({ token: 'tok', allowOrigins: [PAGE] });
    expect((await send('GET', '/k', { origin: EVIL, authorization: 'Bearer tok' })).status).toBe(403);
    expect((await send('GET', '/k', { origin: PAGE, authorization: 'Bearer tok' })).status).toBe(404);
  });
});

describe('the body limit', () => {
  it('is stated on every response and exposed to pages, beside ETag', async () => {
    await start({ maxBodyBytes: 1234, allowOrigins: [PAGE], token: 'tok' });
    const auth = { authorization: 'Bearer tok', origin: PAGE };
    const replies = [
      await send('PUT', '/k', auth, 'v'),
      await send('GET', '/k', auth),
      await send('HEAD', '/k', auth),
      await send('GET', '/missing', auth),
      await send('GET', '/?list=', auth),
      await send('PUT', '/big', auth, 'x'.repeat(2000)),
      await send('GET', '/k', { origin: PAGE }),
      await send('GET', '/k', { origin: EVIL }),
      await send('OPTIONS', '/k', { origin: PAGE, 'access-control-request-method': 'PUT' }),
      await send('PATCH', '/k', auth),
    ];
    expect(replies.map((reply) => reply.status)).toEqual([201, 200, 200, 404, 200, 413, 401, 403, 204, 405]);
    for (const reply of replies) expect(reply.headers[MAX_OBJECT_BYTES_HEADER.toLowerCase()]).toBe('1234');
    const exposed = (replies[1]!.headers['access-control-expose-headers'] ?? '').split(/\s*,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['ETag', MAX_OBJECT_BYTES_HEADER]));
  });
});

describe('options', () => {
  it('refuses what it cannot honor with typed errors that say what to write', async () => {
    const bad: [Omit<ServerOptions, 'dir' | 'port'>, RegExp][] = [
      [{ allowOrigins: ['http://localhost:5173/'] }, /http:\/\/localhost:5173\b.*no path/],
      [{ allowOrigins: ['localhost:5173'] }, /scheme/],
      [{ allowOrigins: ['ftp://x'] }, /http/],
      [{ allowOrigins: 'http://x' as unknown as string[] }, /list/],
      [{ allowedHosts: ['bad host'] }, /allowedHosts/],
      [{ allowedHosts: ['sync.example.com:8080'] }, /without a port/],
      [{ allowedHosts: [''] }, /allowedHosts/],
    ];
    for (const [options, message] of bad) {
      const refused = startServer({ dir: temp.dir, port: 0, ...options });
      await expect(refused).rejects.toSatisfy((error) => isChainsyncError(error, 'INVALID_ARGUMENT'));
      await expect(refused).rejects.toThrow(message);
    }
  });
});

describe('the start-up description', () => {
  it('says how the server is exposed', async () => {
    expect((await start()).exposure).toMatch(/loopback only.*no token.*cross-origin web pages: none/s);
    await temp.server!.close();
    expect((await start({ allowOrigins: [PAGE], allowedHosts: ['sync.example.com'] })).exposure).toMatch(
      /sync\.example\.com.*http:\/\/localhost:5173/s,
    );
    await temp.server!.close();
    expect((await start({ token: 'tok' })).exposure).toMatch(/bearer token.*any origin/s);
    await temp.server!.close();
    expect((await start({ allowOrigins: ['*'] })).exposure).toMatch(/every web page/);
  });
});
