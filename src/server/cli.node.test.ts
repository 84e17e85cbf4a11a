/**
 * The `chainsync-server` bin as a real child process (`node dist/src/server/cli.js`, built by
 * `npm run build`): argument errors, SIGTERM shutdown, and the crash test — SIGKILL at random
 * moments during concurrent writes, restart, and check that every acknowledged write is there and
 * every object is whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sourcesReachableFrom } from '../test-support/imports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/server/cli.js');

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chainsync-cli-'));
  dirs.push(dir);
  return dir;
}

function run(
  args: string[],
  env: Record<string, string> = {},
): { process: ChildProcess; exited: Child['exited'] } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { process: child, exited };
}

/** Starts the server on `dir` (any free port) and resolves once it printed its URL. */
async function startChild(
  dir: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Child> {
  const { process: child, exited } = run(['--dir', dir, '--port', '0', ...args], env);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    void exited.then(({ code }) =>
      reject(new Error(`server exited (${code}) before printing its URL: ${stderr}`)),
    );
  });
  return { process: child, url, stderr: () => stderr, exited };
}

/** Collects stdout, stderr and the exit code of a run that is expected to end by itself. */
async function runToExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { process: child, exited } = run(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const { code } = await exited;
  return { code, stdout, stderr };
}

beforeAll(async () => {
  // These tests run the built bin; a missing or stale build would test the wrong code.
  const built = await stat(CLI).catch(() => null);
  if (built === null) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
  for (const source of sourcesReachableFrom(join(ROOT, 'src/server/cli.ts'))) {
    if ((await stat(source)).mtimeMs > built.mtimeMs) {
      throw new Error(
        `${relative(ROOT, source)} is newer than ${CLI}: run \`npm run build\` first (npm test does).`,
      );
    }
  }
});

describe('arguments', () => {
  it.each([
    ['no arguments', [], /--dir is required/],
    ['no --port', ['--dir', 'x'], /--port is required/],
    ['a non-numeric port', ['--dir', 'x', '--port', 'http'], /--port must be a non-negative integer/],
    ['a port out of range', ['--dir', 'x', '--port', '70000'], /Invalid port/],
    ['an unknown option', ['--dir', 'x', '--port', '0', '--bogus'], /Unknown option '--bogus'/],
    ['a positional argument', ['--dir', 'x', '--port', '0', 'extra'], /extra/],
    ['a token with spaces', ['--dir', 'x', '--port', '0', '--token', 'a b'], /Invalid token/],
    ['a bad --max-body-bytes', ['--dir', 'x', '--port', '0', '--max-body-bytes', '-5'], /--max-body-bytes/],
  ])('%s: exit 2 with the reason and the usage', async (_name, args, reason) => {
    const { code, stdout, stderr } = await runToExit(args as string[]);
    expect(code).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr).toContain('Usage: chainsync-server --dir <path> --port <n>');
    expect(stdout).toBe('');
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const { code, stdout } = await runToExit(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: chainsync-server');
  });

  it('refuses (exit 2) a directory another live server uses', async () => {
    const dir = await tempDir();
    await startChild(dir);
    const { code, stderr } = await runToExit(['--dir', dir, '--port', '0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/in use by another chainsync-server/);
  });

  it('takes the token from CHAINSYNC_SERVER_TOKEN', async () => {
    const child = await startChild(await tempDir(), [], { CHAINSYNC_SERVER_TOKEN: 'env-secret' });
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
    const dir = await tempDir();
    const child = await startChild(dir);
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

    const again = await startChild(dir);
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
    const dir = await tempDir();
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

    let child = await startChild(dir);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const writers = keys.map((key) => writer(child.url, key));
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
      child.process.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      await Promise.all(writers);

      child = await startChild(dir);
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
