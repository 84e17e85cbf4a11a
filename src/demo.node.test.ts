/**
 * `npm run demo` (demo/serve.mjs) as a real child process: it starts from source (no dist/), prints
 * its URLs, serves the demo page, takes another port when its default is taken (and allows that
 * origin on the reference server), refuses a taken explicit PORT by naming it, and on SIGTERM —
 * to itself or to the npm process that started it — stops and removes its temporary directories.
 * Each child gets a TMPDIR of its own, so "nothing left behind" is an empty directory.
 */
import { readdir } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './test-support/imports.js';
import { CliProcesses, type CliProcess } from './test-support/server-cli.js';

const processes = new CliProcesses();
afterEach(() => processes.cleanup());

const SERVE = join(repoRoot, 'demo/serve.mjs');
/** Generous: Vite's start (and the DEMO_BUILD build) on a loaded 2-core machine. */
const TIMEOUT = 180_000;

/** What a started demo printed. */
interface StartedDemo {
  readonly demoUrl: string;
  readonly serverUrl: string;
  readonly objectsDir: string;
}

/** Resolves once `child` printed its demo URL; rejects with its output when it exits first. */
function started(child: CliProcess): Promise<StartedDemo> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const out = child.stdout();
      const demo = /^chainsync demo: (http:\/\/\S+)$/m.exec(out);
      const server = /^chainsync reference server: (http:\/\/\S+) \(objects in (.+)\)$/m.exec(out);
      if (demo === null || server === null) return false;
      resolve({ demoUrl: demo[1]!, serverUrl: server[1]!, objectsDir: server[2]! });
      return true;
    };
    child.process.stdout!.on('data', check);
    void child.exited.then(({ code, signal }) => {
      if (!check())
        reject(new Error(`demo exited (${code ?? signal}) before printing its URL:\n${child.stderr()}`));
    });
  });
}

/** `node demo/serve.mjs` (or `command args`) with a TMPDIR of its own. */
async function startDemo(
  env: Record<string, string> = {},
  command: readonly [string, ...string[]] = [process.execPath, SERVE],
): Promise<{ child: CliProcess; tmp: string }> {
  const tmp = await processes.tempDir();
  const child = processes.runCommand(command[0], command.slice(1), { ...env, TMPDIR: tmp });
  return { child, tmp };
}

/** SIGTERM to a started demo: it exits with 0 and its TMPDIR is empty again. */
async function expectCleanStop(child: CliProcess, tmp: string): Promise<void> {
  child.process.kill('SIGTERM');
  expect(await child.exited).toEqual({ code: 0, signal: null });
  expect(await readdir(tmp)).toEqual([]);
}

/** A port free right now (the system picks it; closed again before returning). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The origin the reference server at `serverUrl` allows for a preflight from `origin`, if any. */
async function allowedOrigin(serverUrl: string, origin: string): Promise<string | null> {
  const response = await fetch(new URL('probe', serverUrl), {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' },
  });
  return response.headers.get('access-control-allow-origin');
}

describe('npm run demo', () => {
  it(
    'prints its URLs, serves the demo page, and a second instance takes another port and allows it',
    async () => {
      const first = await startDemo();
      const a = await started(first.child);
      const second = await startDemo();
      const b = await started(second.child);

      expect(new URL(b.demoUrl).port).not.toBe(new URL(a.demoUrl).port);
      for (const { demoUrl } of [a, b]) {
        const page = await fetch(demoUrl);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<title>chainsync demo');
      }
      // Each reference server allows its own demo's origin (the port actually taken), no other.
      const originA = new URL(a.demoUrl).origin;
      const originB = new URL(b.demoUrl).origin;
      expect(await allowedOrigin(a.serverUrl, originA)).toBe(originA);
      expect(await allowedOrigin(b.serverUrl, originB)).toBe(originB);
      expect(await allowedOrigin(b.serverUrl, originA)).toBeNull();
      // Started from source: the objects are in the child's own temporary directory.
      expect(a.objectsDir.startsWith(first.tmp)).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'refuses a taken explicit PORT by naming it, and leaves nothing behind',
    async () => {
      const first = await startDemo();
      const { demoUrl } = await started(first.child);
      const port = new URL(demoUrl).port;

      const second = await startDemo({ PORT: port });
      expect(await second.child.exited).toEqual({ code: 1, signal: null });
      expect(second.child.stderr()).toContain(`port ${port} (PORT=${port}) is already in use`);
      expect(await readdir(second.tmp)).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'on SIGTERM stops and removes its temporary object directory',
    async () => {
      const { child, tmp } = await startDemo();
      const { objectsDir } = await started(child);
      expect(await readdir(tmp)).toEqual([objectsDir.slice(tmp.length + 1)]);

      await expectCleanStop(child, tmp);
    },
    TIMEOUT,
  );

  it(
    'with DEMO_BUILD=1 serves the built demo on the explicit PORT and on SIGTERM removes the build too',
    async () => {
      const port = String(await freePort());

      const { child, tmp } = await startDemo({ PORT: port, DEMO_BUILD: '1' });
      const { demoUrl } = await started(child);
      expect(new URL(demoUrl).port).toBe(port);
      const page = await fetch(demoUrl);
      expect(await page.text()).not.toContain('/@vite/client');
      // mkdtemp's suffix has no dash: strip it to name the two directories.
      const made = (await readdir(tmp)).map((name) => name.replace(/-[^-]+$/, ''));
      expect(made.sort()).toEqual(['chainsync-demo', 'chainsync-demo-build']);

      await expectCleanStop(child, tmp);
    },
    TIMEOUT,
  );

  it(
    'stops when the npm process that started it gets SIGTERM (npm ends its shell, not the demo)',
    async () => {
      const { child, tmp } = await startDemo({}, ['npm', 'run', '--silent', 'demo']);
      await started(child);

      child.process.kill('SIGTERM');
      // 'close' waits for every process holding npm's stdout: the demo under `sh -c` as well.
      await child.exited;
      expect(await readdir(tmp)).toEqual([]);
    },
    TIMEOUT,
  );
});
