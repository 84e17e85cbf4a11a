/**
 * A reference server in its own process (the built CLI), so a test can kill it with SIGKILL and
 * start it again on the same port and directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoPort } from '../playwright.config.js';

// The pages under test come from the demo: the server must allow that origin (it refuses every
// other web page, as it has no token).
const DEMO_ORIGIN = `http://127.0.0.1:${demoPort}`;

export interface ServerProcess {
  readonly url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

function start(dir: string, port: number): Promise<{ child: ChildProcess; url: string }> {
  const args = ['--dir', dir, '--port', String(port), '--allow-origin', DEMO_ORIGIN];
  const child = spawn(process.execPath, ['dist/src/server/cli.js', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ child, url: line.trim() });
    });
    child.on('exit', (code) => reject(new Error(`the reference server exited with ${String(code)}`)));
  });
}

export async function startServerProcess(): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'chainsync-e2e-'));
  let { child, url } = await start(dir, 0);
  const port = Number(new URL(url).port);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    url,
    kill,
    async restart() {
      await kill();
      ({ child, url } = await start(dir, port));
    },
    async dispose() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
