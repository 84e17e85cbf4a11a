/**
 * The reference server in a fresh temporary directory for each test of a file: `start` it with
 * the options a test needs; it is closed and its directory removed after each test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { ServerOptions } from '../server/server-options.js';
import { startServer, type RunningServer } from '../server/server.js';

/** What {@link serverPerTest} gives a test file. */
export interface ServerPerTest {
  /** Starts the test's server (the previous one, if any, must have been closed). */
  start(options?: Omit<ServerOptions, 'dir' | 'port'>): Promise<RunningServer>;
  /** The server the test started last, if any. */
  readonly server: RunningServer | undefined;
  /** This test's directory. */
  readonly dir: string;
}

/** Registers the hooks; `name` marks the temporary directories (`chainsync-<name>-…`). */
export function serverPerTest(name: string): ServerPerTest {
  let dir = '';
  let server: RunningServer | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), `chainsync-${name}-`));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });
  return {
    start: async (options = {}) => (server = await startServer({ dir, port: 0, ...options })),
    get server() {
      return server;
    },
    get dir() {
      return dir;
    },
  };
}

/** One reference server for a whole test file, in a fresh temporary directory, closed after it. */
export function serverPerFile(name: string): { readonly server: RunningServer } {
  let dir = '';
  let server: RunningServer | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `chainsync-${name}-`));
    server = await startServer({ dir, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error('the file’s server is not started (use it inside a test)');
      return server;
    },
  };
}
