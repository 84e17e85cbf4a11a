/**
 * The `chainsync-server` bin as a real child process (`node dist/src/server/cli.js`, built by
 * `npm run build`): argument errors, SIGTERM shutdown, and the crash test — SIGKILL at random
 * moments during concurrent writes, restart, and check that every acknowledged write is there and
 * every object is whole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertFreshBuild, CliProcesses } from '../test-support/server-cli.js';

const cli = new CliProcesses();
afterEach(() => cli.cleanup());
beforeAll(assertFreshBuild);

describe('arguments', () => {
  it.each([
    ['no arguments', [], /--dir is required/],
    ['no --port', ['--dir', 'x'], /--port is required/],
    ['a non-numeric port', ['--dir', 'x', '--port', 'http'], /--port must be a non-negative integer/],
    ['a port out of range', ['--dir', 'x', '--port', '70000'], /Invalid --port/],
    ['an unknown option', ['--dir', 'x', '--port', '0', '--bogus'], /Unknown option '--bogus'/],
    ['a positional argument', ['--dir', 'x', '--port', '0', 'extra'], /extra/],
    ['a token with spaces', ['--dir', 'x', '--port', '0', '--token', 'a b'], /Invalid --token/],
    ['a bad --max-body-bytes', ['--dir', 'x', '--port', '0', '--max-body-bytes', '-5'], /--max-body-bytes/],
    [
      'an origin with a path',
      ['--dir', 'x', '--port', '0', '--allow-origin', 'http://localhost:5173/app'],
      /Invalid --allow-origin: .*no path/,
    ],
    [
      'a host name with a port',
      ['--dir', 'x', '--port', '0', '--allowed-host', 'sync.example.com:80'],
      /Invalid --allowed-host: .*without a port/,
    ],
    [
      'a non-numeric timeout',
      ['--dir', 'x', '--port', '0', '--headers-timeout-ms', 'soon'],
      /--headers-timeout-ms must be a non-negative integer/,
    ],
    [
      'no connections at all',
      ['--dir', 'x', '--port', '0', '--max-connections', '0'],
      /Invalid --max-connections/,
    ],
    [
      'a headers timeout longer than the request timeout',
      ['--dir', 'x', '--port', '0', '--headers-timeout-ms', '5000', '--request-timeout-ms', '1000'],
      /--headers-timeout-ms.*--request-timeout-ms/,
    ],
  ])('%s: exit 2 with the reason and the usage', async (_name, args, reason) => {
    const { code, stdout, stderr } = await cli.runToExit(args as string[]);
    expect(code).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr).toContain('Usage: chainsync-server --dir <path> --port <n>');
    expect(stdout).toBe('');
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const { code, stdout } = await cli.runToExit(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: chainsync-server');
    for (const flag of [
      '--allow-origin',
      '--allowed-host',
      '--headers-timeout-ms',
      '--request-timeout-ms',
      '--idle-timeout-ms',
      '--max-connections',
    ]) {
      expect(stdout).toContain(flag);
    }
    // What to do about a directory another server holds, or held before it crashed.
    expect(stdout).toMatch(/server\.lock/);
  });

  it('refuses (exit 3) a directory another live server uses, saying what to do', async () => {
    const dir = await cli.tempDir();
    await cli.startServer(dir);
    const { code, stderr, stdout } = await cli.runToExit(['--dir', dir, '--port', '0']);
    expect(code).toBe(3);
    expect(stderr).toMatch(/in use by another chainsync-server.*stop that server/is);
    expect(stderr).not.toContain('Usage:');
    expect(stdout).toBe('');
  });

  it('says on stderr how it is exposed: where it listens, which names and which web pages it serves', async () => {
    const child = await cli.startServer(await cli.tempDir(), [
      '--allow-origin',
      'http://localhost:5173',
      '--allow-origin',
      'http://127.0.0.1:5173',
      '--allowed-host',
      'sync.example.com',
    ]);
    expect(child.stderr()).toMatch(/loopback only/);
    expect(child.stderr()).toMatch(/sync\.example\.com/);
    expect(child.stderr()).toMatch(/http:\/\/localhost:5173, http:\/\/127\.0\.0\.1:5173/);
    expect(child.stderr()).toMatch(/no token/);
  });

  it('takes the token from CHAINSYNC_SERVER_TOKEN', async () => {
    const child = await cli.startServer(await cli.tempDir(), [], { CHAINSYNC_SERVER_TOKEN: 'env-secret' });
    expect(child.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(`${child.url}k`)).status).toBe(401);
    const ok = await fetch(`${child.url}k`, {
      method: 'PUT',
      body: 'v',
      headers: { Authorization: 'Bearer env-secret' },
    });
    expect(ok.status).toBe(201);
  });
});

describe('SIGTERM', () => {
  it('stops accepting, completes the request under way, exits 0, and the write is durable', async () => {
    const dir = await cli.tempDir();
    const child = await cli.startServer(dir);
    const { port } = new URL(child.url);
    // Expect: 100-continue makes the server confirm it has the request before we send the body.
    const upload = request({
      host: '127.0.0.1',
      port,
      path: '/inflight',
      method: 'PUT',
      headers: { 'Content-Length': 10, Expect: '100-continue' },
    });
    const response = new Promise<{ status: number; etag: string | undefined }>((resolve, reject) => {
      upload.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode!, etag: res.headers.etag });
      });
      upload.on('error', reject);
    });
    await new Promise<void>((resolve) => upload.once('continue', resolve));
    upload.write('first');

    child.process.kill('SIGTERM');
    while (!child.stderr().includes('SIGTERM: finishing'))
      await new Promise((resolve) => setTimeout(resolve, 10));
    // Listening stopped before that line was printed: new connections are refused.
    await expect(fetch(`${child.url}other`)).rejects.toThrow();

    upload.end('-half');
    const { status, etag } = await response;
    expect(status).toBe(201);
    expect(await child.exited).toEqual({ code: 0, signal: null });

    const again = await cli.startServer(dir);
    const stored = await fetch(`${again.url}inflight`);
    expect(stored.headers.get('ETag')).toBe(etag);
    expect(await stored.text()).toBe('first-half');
  });
});

describe('crash safety', () => {
  const KEYS = 6;
  const CYCLES = 12;

  /** Payload that carries its own checksum: `<key>\n<seq>\n<sha256(filler)>\n<filler>`. */
  function payload(key: string, seq: number): Uint8Array<ArrayBuffer> {
    const filler = randomBytes(1024 + Math.floor(Math.random() * 255 * 1024));
    const head = Buffer.from(`${key}\n${seq}\n${createHash('sha256').update(filler).digest('hex')}\n`);
    return Uint8Array.from(Buffer.concat([head, filler]));
  }

  /** Parses a payload, failing the test unless it is whole and belongs to `key`. */
  function check(key: string, bytes: Buffer): number {
    let offset = 0;
    const fields: string[] = [];
    for (let i = 0; i < 3; i++) {
      const end = bytes.indexOf(0x0a, offset);
      expect(end).toBeGreaterThan(offset);
      fields.push(bytes.subarray(offset, end).toString());
      offset = end + 1;
    }
    const [storedKey, seq, digest] = fields;
    expect(storedKey).toBe(key);
    expect(createHash('sha256').update(bytes.subarray(offset)).digest('hex')).toBe(digest);
    return Number(seq);
  }

  it(`SIGKILL at random moments during concurrent writes (${CYCLES} cycles): no acknowledged write lost, no torn object`, async () => {
    const dir = await cli.tempDir();
    const keys = Array.from({ length: KEYS }, (_, i) => `crash/key-${i}`);
    /** What the writer of each key knows: the version its next write replaces. */
    const known = new Map(keys.map((key) => [key, { etag: null as string | null, seq: 0 }]));
    /** The last acknowledged write per key. */
    const acked = new Map<string, { seq: number; etag: string }>();
    let acknowledged = 0;
    let interrupted = 0;
    let appliedButUnacknowledged = 0;

    async function writer(url: string, key: string): Promise<void> {
      for (;;) {
        const state = known.get(key)!;
        const seq = state.seq + 1;
        let response: Response;
        try {
          response = await fetch(url + key, {
            method: 'PUT',
            body: payload(key, seq),
            headers: state.etag === null ? { 'If-None-Match': '*' } : { 'If-Match': state.etag },
          });
          await response.arrayBuffer();
        } catch {
          interrupted++; // The server died mid-request: this write may or may not have happened.
          return;
        }
        // The only writer of its key, resynchronized after every crash: a 412 would be a bug.
        expect([201, 204]).toContain(response.status);
        const etag = response.headers.get('ETag')!;
        known.set(key, { etag, seq });
        acked.set(key, { seq, etag });
        acknowledged++;
      }
    }

    let child = await cli.startServer(dir);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const writers = keys.map((key) => writer(child.url, key));
      // Kill once this cycle has had a write acknowledged (on a loaded machine that can take longer
      // than any fixed pause), then at a random moment after it, with writes in flight.
      // (Writers that failed end the wait too: Promise.all below reports why.)
      const before = acknowledged;
      let writersDone = false;
      void Promise.allSettled(writers).then(() => (writersDone = true));
      while (acknowledged === before && !writersDone) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 250));
      child.process.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      await Promise.all(writers);

      child = await cli.startServer(dir);
      // Writes interrupted by the crash are discarded at start-up, never visible as objects.
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
      const listed = (await (await fetch(`${child.url}?list=`)).json()) as { keys: string[] };
      expect(listed.keys.every((key) => keys.includes(key))).toBe(true);
      for (const key of keys) {
        const response = await fetch(child.url + key);
        // What the writer last saw: its last acknowledged write, or what it read after a crash.
        const last = known.get(key)!;
        if (response.status === 404) {
          expect(last.seq).toBe(0);
          expect(acked.has(key)).toBe(false);
          expect(listed.keys).not.toContain(key);
          continue;
        }
        expect(response.status).toBe(200);
        expect(listed.keys).toContain(key);
        const etag = response.headers.get('ETag')!;
        const seq = check(key, Buffer.from(await response.arrayBuffer()));
        expect(seq).toBeGreaterThanOrEqual(acked.get(key)?.seq ?? 0);
        if (seq === last.seq) {
          expect(etag).toBe(last.etag);
        } else {
          // A write the crash interrupted after it committed: only the one in flight can be newer.
          expect(seq).toBe(last.seq + 1);
          appliedButUnacknowledged++;
        }
        known.set(key, { etag, seq });
      }
      expect((await readdir(join(dir, 'objects'))).length).toBe(listed.keys.length);
    }
    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    console.warn(
      `crash test: ${CYCLES} SIGKILLs, ${acknowledged} acknowledged writes all found, ${interrupted} requests ` +
        `cut off by a kill (${appliedButUnacknowledged} of them had committed)`,
    );
    // The kills must have landed during writes, or this test proved nothing.
    expect(interrupted).toBeGreaterThan(0);
    expect(acknowledged).toBeGreaterThan(0);
  }, 120_000);
});
