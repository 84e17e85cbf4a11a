/**
 * Slow and idle connections on real sockets: a slowloris attack (headers dribbled, bodies
 * dribbled, connections opened and left silent) must not stop a legitimate client, and once the
 * timeouts pass every slow socket is closed and every temporary file it held removed; at the
 * connection cap, a newcomer gets a 503 that says so. The timeouts are short here; the test waits
 * for what can be observed (a socket closing, a file disappearing), never for a time.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isChainsyncError } from '../contracts/errors.js';
import type { ServerOptions } from './server-options.js';
import { startServer, type RunningServer } from './server.js';

let dir: string;
let server: RunningServer | undefined;
const sockets: Socket[] = [];
const timers: NodeJS.Timeout[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-limits-'));
});

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function start(options: Omit<ServerOptions, 'dir' | 'port'>): Promise<number> {
  server = await startServer({ dir, port: 0, ...options });
  return Number(new URL(server.url).port);
}

/** A client socket: what it received, and a promise that settles when the server closes it. */
interface Client {
  readonly socket: Socket;
  readonly received: () => string;
  readonly closed: Promise<void>;
}

async function open(port: number): Promise<Client> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined); // a reset is one way for the server to close it
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed };
}

/** Writes `text` now, then one byte of `drip` every 50 ms for as long as the socket is open. */
function dribble(client: Client, text: string, drip: string): void {
  client.socket.write(text);
  const timer = setInterval(() => {
    if (client.socket.writable) client.socket.write(drip);
  }, 50);
  timers.push(timer);
  void client.closed.then(() => clearInterval(timer));
}

/** Resolves when every client is closed; the safety net only turns a hang into a clear failure. */
async function allClosed(clients: readonly Client[], what: string): Promise<void> {
  let stillOpen = clients.length;
  for (const client of clients) void client.closed.then(() => stillOpen--);
  let safetyNet!: NodeJS.Timeout;
  const hang = new Promise<never>((_, reject) => {
    safetyNet = setTimeout(
      () => reject(new Error(`${stillOpen} of ${clients.length} ${what} still open after 20 s`)),
      20_000,
    );
  });
  try {
    await Promise.race([Promise.all(clients.map((client) => client.closed)), hang]);
  } finally {
    clearTimeout(safetyNet);
  }
}

const tempFiles = (): Promise<string[]> => readdir(join(dir, 'tmp'));

describe('slowloris', () => {
  it('slow headers, slow bodies and silent connections do not stop a legitimate client, and are closed with their temp files', async () => {
    // Short, but with room for a loaded machine: the legitimate client must get its headers in
    // within 2 s, and the 10 slow bodies must all have started within 5 s.
    const port = await start({
      headersTimeoutMs: 2000,
      requestTimeoutMs: 5000,
      idleTimeoutMs: 300,
      maxConnections: 100,
    });
    const slowHeaders = await Promise.all(Array.from({ length: 10 }, () => open(port)));
    for (const client of slowHeaders) dribble(client, 'PUT /k HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 'a');
    const slowBodies = await Promise.all(Array.from({ length: 10 }, () => open(port)));
    for (const [i, client] of slowBodies.entries()) {
      dribble(client, `PUT /slow-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`, 'b');
    }
    const silent = await Promise.all(Array.from({ length: 10 }, () => open(port)));
    // Each slow body is being received into a temporary file.
    await vi.waitFor(async () => expect(await tempFiles()).toHaveLength(10), {
      timeout: 20_000,
      interval: 20,
    });

    for (let i = 0; i < 10; i++) {
      const written = await fetch(`${server!.url}legit-${i}`, { method: 'PUT', body: `v${i}` });
      expect(written.status).toBe(201);
      expect(await (await fetch(`${server!.url}legit-${i}`)).text()).toBe(`v${i}`);
    }

    await allClosed(slowHeaders, 'slow-header connections');
    await allClosed(slowBodies, 'slow-body connections');
    await allClosed(silent, 'silent connections');
    for (const client of [...slowHeaders, ...silent]) expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    await vi.waitFor(async () => expect(await tempFiles()).toEqual([]), { timeout: 20_000, interval: 20 });
    // Nothing of the slow bodies was stored.
    expect(await (await fetch(`${server!.url}?list=slow`)).json()).toEqual({ keys: [], bytes: [] });
  });

  it('a connection left open after its response is closed once idle', async () => {
    const port = await start({ idleTimeoutMs: 200 });
    const client = await open(port);
    client.socket.write('GET /k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await allClosed([client], 'idle keep-alive connections');
    expect(client.received()).toMatch(/^HTTP\/1\.1 404 /);
  });
});

describe('the connection cap', () => {
  it('answers a connection over the cap with 503 and a message, and serves again once one closes', async () => {
    const port = await start({ maxConnections: 5, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const holders: Client[] = [];
    for (let i = 0; i < 5; i++) holders.push(await open(port));
    // The holders are accepted before a later connection: the server accepts in arrival order.
    await vi.waitFor(
      async () => {
        const extra = await open(port);
        extra.socket.write('GET /k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await extra.closed;
        expect(extra.received()).toMatch(/^HTTP\/1\.1 503 /);
        expect(extra.received()).toMatch(/Retry-After: \d+/i);
        expect(extra.received()).toMatch(/"error":"too_many_connections".*5 connections/);
      },
      { timeout: 20_000, interval: 50 },
    );

    holders[0]!.socket.destroy();
    await vi.waitFor(async () => expect((await fetch(`${server!.url}k`)).status).toBe(404), {
      timeout: 20_000,
      interval: 50,
    });
  });

  it('does not keep a refused connection whose client never closes from shutting down', async () => {
    const port = await start({ maxConnections: 1, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    const holder = await open(port);
    // Half-open: this client keeps its side open after the server's 503 and FIN.
    const stubborn = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(stubborn);
    stubborn.on('error', () => undefined);
    let received = '';
    stubborn.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
    await new Promise<void>((resolve) => stubborn.once('end', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 503 /);
    // The holder goes, so that only the refused connection could hold close() open.
    holder.socket.destroy();
    await holder.closed;
    // Without ending it, close() would wait out the 60 s linger: past this test's timeout.
    await expect(server!.close()).resolves.toBeUndefined();
  });
});

describe('options', () => {
  it('are validated with typed errors', async () => {
    const bad: [Omit<ServerOptions, 'dir' | 'port'>, RegExp][] = [
      [{ headersTimeoutMs: 0 }, /headersTimeoutMs/],
      [{ headersTimeoutMs: 1.5 }, /headersTimeoutMs/],
      [{ requestTimeoutMs: -1 }, /requestTimeoutMs/],
      [{ idleTimeoutMs: Number.NaN }, /idleTimeoutMs/],
      [{ maxConnections: 0 }, /maxConnections/],
      [{ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }, /headersTimeoutMs.*requestTimeoutMs/],
    ];
    for (const [options, message] of bad) {
      const refused = startServer({ dir, port: 0, ...options });
      await expect(refused).rejects.toSatisfy((error) => isChainsyncError(error, 'INVALID_ARGUMENT'));
      await expect(refused).rejects.toThrow(message);
    }
  });
});
