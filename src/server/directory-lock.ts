/**
 * The lock that gives an object directory to one server at a time. Two servers on one directory
 * would each keep their own index of ETags, and each acknowledge a create of the same key.
 *
 * The lock is a file, `server.lock.<generation>`, created with `O_EXCL`: of two servers creating
 * it, exactly one succeeds. Its holder refreshes it every heartbeat. A newcomer that finds one asks
 * {@link judgeLock} whether its holder lives; a dead holder's lock is taken over by creating the
 * next generation, again with `O_EXCL`, so of several newcomers exactly one wins and the others
 * find it alive. Generations only grow while any lock file exists, so a holder can tell it was
 * taken over (it froze for longer than the stale window): a successor exists, or its own file is
 * gone. It then refuses to write; and a write checks that the lock was confirmed recently, so a
 * holder waking from a freeze does not write before its heartbeat has looked.
 *
 * After a crash (even `kill -9`), the next server on the same machine and pid namespace takes the
 * lock over at once (the holder's pid is gone); one in another container or on another machine
 * once the lock has gone unrefreshed for `staleAfterMs`.
 */
import { DirectoryInUseError } from '../contracts/errors.js';
import {
  createLockFile,
  LEGACY_LOCK_FILE,
  legacyLockPid,
  lockFilePath,
  lockGenerations,
  removeLockFile,
  sightLock,
  type LockRecord,
} from './lock-file.js';
import { judgeLock, type LockTimings } from './lock-verdict.js';
import { currentProcessIdentity, processExists } from './process-identity.js';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';

export type { LockTimings } from './lock-verdict.js';

/** Refresh every 2 s; a lock unrefreshed for 10 s is stale. */
export const DEFAULT_LOCK_TIMINGS: LockTimings = { heartbeatMs: 2_000, staleAfterMs: 10_000 };

/** Newcomers that each found the lock changing hands give up after this many looks. */
const MAX_ATTEMPTS = 20;

/** Instances of the locks this process holds: their pid is ours, yet they are alive. */
const heldHere = new Set<string>();

/** Another server took the directory over: this one must never write there again. */
export class DirectoryLockLostError extends Error {}

/** The lock could not be confirmed lately (a stalled disk or process): writes wait until it is. */
export class DirectoryLockUnconfirmedError extends Error {}

/** A directory lock this process holds. */
export class DirectoryLock {
  readonly #dir: string;
  readonly #path: string;
  readonly #successorPath: string;
  readonly #handle: FileHandle;
  readonly #record: LockRecord;
  readonly #timings: LockTimings;
  readonly #timer: NodeJS.Timeout;
  #beating: Promise<void> | null = null;
  #confirmedAt = performance.now();
  #lost: string | null = null;
  #released = false;

  constructor(dir: string, generation: number, handle: FileHandle, record: LockRecord, timings: LockTimings) {
    this.#dir = dir;
    this.#path = lockFilePath(dir, generation);
    this.#successorPath = lockFilePath(dir, generation + 1);
    this.#handle = handle;
    this.#record = record;
    this.#timings = timings;
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = null));
    }, timings.heartbeatMs);
    this.#timer.unref();
  }

  /**
   * Throws unless this process may write to the directory now: the lock is still its own, and was
   * confirmed less than half the stale window ago (no newcomer can have judged it stale yet).
   * @throws DirectoryLockLostError, DirectoryLockUnconfirmedError
   */
  assertHeld(): void {
    if (this.#lost !== null) throw new DirectoryLockLostError(this.#lost);
    const age = performance.now() - this.#confirmedAt;
    if (age > this.#timings.staleAfterMs / 2) {
      throw new DirectoryLockUnconfirmedError(
        `This server could not refresh its lock on ${this.#dir} for ${Math.round(age)} ms (a stalled ` +
          'disk or process?). It refuses writes until it can, so that no other server can have taken ' +
          'the directory over meanwhile: try again.',
      );
    }
  }

  /** Stops refreshing and removes the lock file (unless another server took it over). Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#beating;
    heldHere.delete(this.#record.instance);
    try {
      const seen = await sightLock(this.#path);
      if (seen?.record?.instance === this.#record.instance) await removeLockFile(this.#path);
    } finally {
      await this.#handle.close();
    }
  }

  /** One heartbeat: checks that the lock is still ours, then refreshes it. */
  async #beat(): Promise<void> {
    if (this.#lost !== null || this.#released) return;
    const started = performance.now();
    try {
      const own = await sightLock(this.#path);
      const successor = await sightLock(this.#successorPath);
      if (own?.record?.instance !== this.#record.instance || successor !== null) {
        this.#lost =
          `Another server took over ${this.#dir} (${successor === null ? 'its lock file is gone' : `see ${this.#successorPath}`}) ` +
          `while this one did not refresh its lock for ${this.#timings.staleAfterMs} ms (was it frozen?). ` +
          'This server no longer writes there: stop it; the other one serves the directory.';
        console.error(`chainsync-server: ${this.#lost}`);
        return;
      }
      const now = new Date();
      await this.#handle.utimes(now, now);
      this.#confirmedAt = started;
    } catch (error) {
      // Not confirmed this time; writes stop if that lasts (assertHeld).
      console.error(`chainsync-server: could not refresh the lock on ${this.#dir}:`, error);
    }
  }
}

/**
 * Takes the lock of `dir` for this process, taking over a lock whose holder is dead.
 * @throws DirectoryInUseError when a live server holds it; the message says who and what to do.
 */
export async function acquireDirectoryLock(
  dir: string,
  timings: Partial<LockTimings> = {},
): Promise<DirectoryLock> {
  const settings = { ...DEFAULT_LOCK_TIMINGS, ...timings };
  const me = await currentProcessIdentity();
  await refuseLiveLegacyLock(dir);
  let newestPath = lockFilePath(dir, 1);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const newest = (await lockGenerations(dir)).at(-1) ?? 0;
    newestPath = lockFilePath(dir, newest);
    let takeover: string | null = null;
    if (newest > 0) {
      const verdict = await judgeLock(newestPath, me, heldHere, settings);
      if (verdict.state === 'gone') continue;
      if (verdict.state === 'alive')
        throw inUse(dir, newestPath, verdict.record, verdict.refreshedMsAgo, settings);
      takeover = `${describeHolder(verdict.record)}: ${verdict.why}`;
    }
    const created = await createLockFile(lockFilePath(dir, newest + 1), me);
    if (created === null) continue; // Another newcomer created it first: look at theirs.
    heldHere.add(created.record.instance);
    if (takeover !== null) {
      console.warn(`chainsync-server: took over ${newestPath} from ${takeover}.`);
      for (const generation of await lockGenerations(dir)) {
        if (generation <= newest) await removeLockFile(lockFilePath(dir, generation));
      }
    }
    return new DirectoryLock(dir, newest + 1, created.handle, created.record, settings);
  }
  throw new DirectoryInUseError(
    `${dir}: its lock kept changing hands while this server tried to take it (servers starting and ` +
      'stopping on it). Start this one again once only one server is meant to serve it.',
    newestPath,
  );
}

function describeHolder(record: LockRecord | null): string {
  if (record === null) return 'a holder whose lock file is unreadable (being written, or damaged)';
  return `pid ${record.pid} on host "${record.hostname}" (since ${record.since})`;
}

function inUse(
  dir: string,
  path: string,
  record: LockRecord | null,
  refreshedMsAgo: number | null,
  { staleAfterMs }: LockTimings,
): DirectoryInUseError {
  const refreshed =
    refreshedMsAgo === null ? 'refreshed while we watched' : `refreshed ${Math.round(refreshedMsAgo)} ms ago`;
  return new DirectoryInUseError(
    `${dir} is in use by another chainsync-server: ${describeHolder(record)}; its lock ${path} was ${refreshed}. ` +
      'Two servers on one directory would break compare-and-swap: stop that server, or give this one ' +
      `another --dir. If that server has stopped, start this one again: a lock not refreshed for ` +
      `${staleAfterMs} ms is taken over.`,
    path,
  );
}

/**
 * The lock file of an older chainsync-server holds a bare pid and is never refreshed. A pid that
 * runs here may be that server — or, if it is our own, that of a server in another container
 * (PID 1 in both): refuse, saying how to clear it. A pid that runs nowhere here left it in a crash.
 */
async function refuseLiveLegacyLock(dir: string): Promise<void> {
  const pid = await legacyLockPid(dir);
  const path = join(dir, LEGACY_LOCK_FILE);
  if (pid !== null && (pid === process.pid || processExists(pid))) {
    const ours =
      pid === process.pid ? ' (our own pid: it may be a server in another container, PID 1 there too)' : '';
    throw new DirectoryInUseError(
      `${dir} may be in use by an older chainsync-server: its lock ${path} names pid ${pid}, which is running${ours}. ` +
        'Stop that server, or give this one another --dir. If no server uses the directory any more, ' +
        `delete ${path} and start again.`,
      path,
    );
  }
  await removeLockFile(path);
}
