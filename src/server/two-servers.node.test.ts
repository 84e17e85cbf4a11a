/**
 * One server per object directory, with real processes: two `chainsync-server` processes started
 * at once on one directory (fresh, and after a SIGKILL left its lock behind), two "containers"
 * (processes in pid namespaces of their own, both PID 1) on one directory, and the lock file of an
 * older server naming our own pid. Exactly one server may ever serve a directory: two would each
 * acknowledge a create of the same key.
 */
import { spawnSync } from 'node:child_process';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isChainsyncError } from '../contracts/errors.js';
import {
  assertFreshBuild,
  CLI,
  CliProcesses,
  serverUrl,
  type CliProcess,
} from '../test-support/server-cli.js';
import { startServer } from './server.js';

const cli = new CliProcesses();
afterEach(() => cli.cleanup());
beforeAll(assertFreshBuild);

/** What a refused server must tell the user: who holds the directory, and what to do about it. */
const IN_USE = /in use by another chainsync-server/;
const WHAT_TO_DO = /stop that server|another --dir/i;

/** Creates `key` with `If-None-Match: *` on each server; returns how many acknowledged it. */
async function createsAcknowledged(urls: readonly string[], key: string): Promise<number> {
  const statuses = await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(url + key, {
        method: 'PUT',
        body: url,
        headers: { 'If-None-Match': '*' },
      });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  return statuses.filter((status) => status === 201).length;
}

async function kill(child: CliProcess): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await child.exited;
}

describe('two chainsync-server processes on one directory', () => {
  const ROUNDS = 20;

  it(`started at once (${ROUNDS} rounds, half of them over the lock of a SIGKILLed server): exactly one serves, the other exits non-zero saying what to do`, async () => {
    const rounds: { round: number; serving: number; acknowledgedCreates: number }[] = [];
    const refusals: { code: number | null; stderr: string }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const dir = await cli.tempDir();
      if (round % 2 === 1) {
        // A crash leaves its lock behind: both newcomers see it stale and race to take it over.
        const crashed = await cli.startServer(dir);
        await kill(crashed);
      }
      const pair = [cli.run(['--dir', dir, '--port', '0']), cli.run(['--dir', dir, '--port', '0'])];
      const urls = await Promise.all(pair.map(serverUrl));
      const serving = urls.filter((url): url is string => url !== null);
      rounds.push({
        round,
        serving: serving.length,
        acknowledgedCreates: await createsAcknowledged(serving, 'k'),
      });
      for (const [i, child] of pair.entries()) {
        if (urls[i] === null) refusals.push({ code: (await child.exited).code, stderr: child.stderr() });
        await kill(child);
      }
    }
    expect(rounds.filter((r) => r.serving !== 1 || r.acknowledgedCreates !== 1)).toEqual([]);
    expect(refusals).toHaveLength(ROUNDS);
    for (const { code, stderr } of refusals) {
      expect(code).not.toBe(0);
      expect(stderr).toMatch(IN_USE);
      expect(stderr).toMatch(WHAT_TO_DO);
    }
  }, 400_000);

  it('a SIGKILLed server leaves no lock that stops the next one on this machine', async () => {
    const dir = await cli.tempDir();
    const first = await cli.startServer(dir);
    expect((await fetch(`${first.url}k`, { method: 'PUT', body: 'v' })).status).toBe(201);
    await kill(first);
    const second = await cli.startServer(dir);
    expect(await (await fetch(`${second.url}k`)).text()).toBe('v');
  });
});

/**
 * Two containers on one volume, both running the server as PID 1: processes in pid namespaces of
 * their own (`unshare --pid`, which needs root — CI runs as root). A pid check alone cannot tell
 * the other container's PID 1 from a crashed predecessor of our own.
 */
const unshareProblem = ((): string | null => {
  if (process.getuid?.() !== 0) return 'pid namespaces need root (unshare --pid)';
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  return probe.status === 0
    ? null
    : `unshare --pid does not work here: ${String(probe.stderr || probe.error)}`;
})();
if (unshareProblem !== null) {
  if (process.env.CI === 'true')
    throw new Error(`The two-containers test cannot run under CI: ${unshareProblem}`);
  console.warn(`Skipping the two-containers test: ${unshareProblem}`);
}

describe.skipIf(unshareProblem !== null)('two containers, both PID 1, one volume', () => {
  /** The server as PID 1 of a fresh pid namespace; SIGKILL to it ends the namespace. */
  function inContainer(dir: string): CliProcess {
    return cli.runCommand('unshare', [
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      process.execPath,
      CLI,
      '--dir',
      dir,
      '--port',
      '0',
    ]);
  }

  it("the second container's server does not take over the first one's lock", async () => {
    const dir = await cli.tempDir();
    const first = inContainer(dir);
    const firstUrl = await serverUrl(first);
    expect(firstUrl, first.stderr()).not.toBeNull();
    const second = inContainer(dir);
    const secondUrl = await serverUrl(second);
    const serving = [firstUrl, secondUrl].filter((url): url is string => url !== null);
    expect(await createsAcknowledged(serving, 'k')).toBe(1);
    expect(secondUrl).toBeNull();
    expect((await second.exited).code).not.toBe(0);
    expect(second.stderr()).toMatch(IN_USE);
    expect(second.stderr()).toMatch(WHAT_TO_DO);
  });

  it('a container that crashed leaves a lock another container takes over once it is stale', async () => {
    const dir = await cli.tempDir();
    const crashed = inContainer(dir);
    expect(await serverUrl(crashed), crashed.stderr()).not.toBeNull();
    await kill(crashed);
    // The lock went unrefreshed for a minute: its holder is gone, wherever it ran.
    const minuteAgo = new Date(Date.now() - 60_000);
    for (const name of await readdir(dir)) {
      if (name.startsWith('server.lock')) await utimes(join(dir, name), minuteAgo, minuteAgo);
    }
    const next = inContainer(dir);
    const url = await serverUrl(next);
    expect(url, next.stderr()).not.toBeNull();
    expect(await createsAcknowledged([url!], 'k')).toBe(1);
  });
});

describe('the lock file of an older chainsync-server (server.lock, a bare pid)', () => {
  it('naming this very pid is not taken over: it may be another container whose server is PID 1 too', async () => {
    const dir = await cli.tempDir();
    await writeFile(join(dir, 'server.lock'), `${process.pid}\n`);
    const refused = startServer({ dir, port: 0 });
    await expect(refused).rejects.toSatisfy((error) => isChainsyncError(error, 'DIRECTORY_IN_USE'));
    // What to do when no server uses the directory any more: delete that file.
    await expect(refused).rejects.toThrow(/delete .*server\.lock/);
  });
});
