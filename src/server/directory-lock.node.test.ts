/**
 * The directory lock on its own, with short heartbeats: when a lock left by someone else is taken
 * over (its holder provably dead on this machine, or silent for the stale window) and when it is
 * refused (a heartbeat shows its holder alive, whatever its pid), and a holder that lost its lock
 * refusing to write. The real-process races are in two-servers.node.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isChainsyncError } from '../contracts/errors.js';
import { acquireDirectoryLock, DirectoryLockLostError, type DirectoryLock } from './directory-lock.js';
import { currentProcessIdentity } from './process-identity.js';
import { startServer } from './server.js';

let dir: string;
const held: DirectoryLock[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-lock-'));
});

afterEach(async () => {
  for (const lock of held.splice(0)) await lock.release();
  await rm(dir, { recursive: true, force: true });
});

async function acquire(options: { heartbeatMs: number; staleAfterMs: number }): Promise<DirectoryLock> {
  const lock = await acquireDirectoryLock(dir, options);
  held.push(lock);
  return lock;
}

const inUse = (error: unknown): boolean => isChainsyncError(error, 'DIRECTORY_IN_USE');

/** Writes the lock file a server elsewhere would hold (generation 1), as that server writes it. */
async function lockOf(holder: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'server.lock.1');
  const record = { instance: 'someone-else', since: new Date().toISOString(), ...holder };
  await writeFile(path, JSON.stringify(record));
  return path;
}

/** Another machine's server: its pid means nothing here, so let it be ours. */
const elsewhere = {
  pid: process.pid,
  hostname: 'another-host',
  bootId: 'another-kernel',
  pidNamespace: 'pid:[4026531836]',
};

/** What a server that found the directory's lock stale does: it writes the next generation. */
async function takeOverFromElsewhere(): Promise<void> {
  const generations = (await readdir(dir)).flatMap((name) => {
    const match = /^server\.lock\.(\d+)$/.exec(name);
    return match ? [Number(match[1])] : [];
  });
  const next = Math.max(...generations) + 1;
  const record = { ...elsewhere, instance: 'taker', since: new Date().toISOString() };
  await writeFile(join(dir, `server.lock.${next}`), JSON.stringify(record));
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('a lock someone else left', () => {
  it('held by a live server on another machine (it refreshes the lock), even with our pid: refused', async () => {
    const path = await lockOf(elsewhere);
    const heartbeat = setInterval(() => {
      const now = new Date();
      void utimes(path, now, now).catch(() => undefined);
    }, 10);
    try {
      // The refusal comes at the first refresh seen; the long window only bounds the wait.
      const refused = acquire({ heartbeatMs: 25, staleAfterMs: 20_000 });
      await expect(refused).rejects.toSatisfy(inUse);
      await expect(refused).rejects.toThrow(/pid \d+ on host "another-host"/);
    } finally {
      clearInterval(heartbeat);
    }
  });

  it('of a server on another machine that stopped refreshing it: taken over after the stale window, with a warning', async () => {
    await lockOf(elsewhere);
    const warnings: string[] = [];
    const warn = vi
      .spyOn(console, 'warn')
      .mockImplementation((...args) => void warnings.push(args.join(' ')));
    try {
      await acquire({ heartbeatMs: 25, staleAfterMs: 250 });
    } finally {
      warn.mockRestore();
    }
    expect(warnings.join('\n')).toMatch(/took over .*another-host/);
    expect((await readdir(dir)).filter((name) => name.startsWith('server.lock'))).toEqual(['server.lock.2']);
  });

  it('of a crashed server on this machine (its pid is gone): taken over without waiting out the window', async () => {
    const here = await currentProcessIdentity();
    await lockOf({ ...here, pid: deadPid() });
    // A window far longer than the test's timeout: taking over must not wait for it.
    await acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 });
  });

  it('of a server on this machine, in another pid namespace (another container), fresh: refused', async () => {
    const here = await currentProcessIdentity();
    await lockOf({ ...here, pidNamespace: 'pid:[1]', pid: deadPid() });
    await expect(acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 })).rejects.toSatisfy(inUse);
  });

  it('that is not a lock record at all (a holder that crashed while creating it): taken over once stale', async () => {
    await writeFile(join(dir, 'server.lock.1'), '');
    await acquire({ heartbeatMs: 25, staleAfterMs: 250 });
  });
});

describe('a lock this process holds', () => {
  it('is refused to a second taker in the same process', async () => {
    await acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 });
    await expect(acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 })).rejects.toSatisfy(inUse);
  });

  it('is gone once released: the next server takes the directory at once', async () => {
    const first = await acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 });
    await first.release();
    await acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 });
  });

  it('taken over by another server (this one was frozen past the window): noticed, and writes are refused', async () => {
    const lock = await acquire({ heartbeatMs: 25, staleAfterMs: 10 * 60_000 });
    lock.assertHeld();
    await takeOverFromElsewhere();
    await vi.waitFor(() => expect(() => lock.assertHeld()).toThrow(DirectoryLockLostError), {
      timeout: 20_000,
      interval: 10,
    });
  });
});

describe('a server whose lock was taken over', () => {
  it('answers writes with 503 and says why, instead of writing beside the new holder', async () => {
    const server = await startServer({ dir, port: 0 });
    try {
      expect((await fetch(`${server.url}before`, { method: 'PUT', body: 'v' })).status).toBe(201);
      await takeOverFromElsewhere();
      const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        await vi.waitFor(
          async () => {
            const response = await fetch(`${server.url}after`, { method: 'PUT', body: 'v' });
            expect(response.status).toBe(503);
            expect(((await response.json()) as { message: string }).message).toMatch(/lock/);
          },
          { timeout: 20_000, interval: 100 },
        );
      } finally {
        errors.mockRestore();
      }
    } finally {
      await server.close();
    }
  });
});
