/**
 * Whether the holder of a lock file someone else wrote is alive. A live holder refreshes the
 * file's modification time every heartbeat; a pid check is only a shortcut to "dead", and only
 * where the pid means the same process to us (one pid namespace of one running kernel).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sightLock, type LockRecord, type LockSighting } from './lock-file.js';
import { processExists, sameKernel, samePidSpace, type ProcessIdentity } from './process-identity.js';

/** How often a holder refreshes its lock, and how long without a refresh makes a lock stale. */
export interface LockTimings {
  readonly heartbeatMs: number;
  readonly staleAfterMs: number;
}

/** What a newcomer concludes about a lock file. */
export type Verdict =
  | { readonly state: 'alive'; readonly record: LockRecord | null; readonly refreshedMsAgo: number | null }
  | { readonly state: 'dead'; readonly record: LockRecord | null; readonly why: string }
  /** The file went away or was replaced while we looked: look at the directory again. */
  | { readonly state: 'gone' };

/**
 * Judges the lock file at `path` for a newcomer `me`. `heldHere` holds the instances of locks this
 * very process holds (their pid is ours, yet they are alive).
 */
export async function judgeLock(
  path: string,
  me: ProcessIdentity,
  heldHere: ReadonlySet<string>,
  timings: LockTimings,
): Promise<Verdict> {
  const seen = await sightLock(path);
  if (seen === null) return { state: 'gone' };
  const { record } = seen;
  if (record !== null && heldHere.has(record.instance)) {
    return { state: 'alive', record, refreshedMsAgo: Date.now() - seen.mtimeMs };
  }
  if (record !== null && samePidSpace(record, me) && (record.pid === me.pid || !processExists(record.pid))) {
    // Our own pid is ours, not the holder's (its locks in this process are in heldHere): it ended.
    return { state: 'dead', record, why: `its process ${record.pid} has ended` };
  }
  if (record !== null && sameKernel(record, me)) {
    // One clock: the file's age says how long ago its holder last refreshed it.
    const age = Date.now() - seen.mtimeMs;
    if (age < timings.staleAfterMs) return { state: 'alive', record, refreshedMsAgo: age };
    // A clock step could fake that age; a live holder would refresh within a heartbeat.
    return watchForRefresh(path, seen, timings.heartbeatMs * 2, timings);
  }
  // Another machine's clock is not ours: only a refresh seen while we watch proves its holder alive.
  return watchForRefresh(path, seen, timings.staleAfterMs, timings);
}

/** Watches the lock for `windowMs`: a refresh means alive, none means dead. */
async function watchForRefresh(
  path: string,
  first: LockSighting,
  windowMs: number,
  timings: LockTimings,
): Promise<Verdict> {
  const start = performance.now();
  const pollMs = Math.max(5, Math.floor(timings.heartbeatMs / 4));
  for (;;) {
    await sleep(pollMs);
    const seen = await sightLock(path);
    if (seen === null || seen.ino !== first.ino) return { state: 'gone' };
    if (seen.mtimeMs !== first.mtimeMs) return { state: 'alive', record: seen.record, refreshedMsAgo: null };
    const waited = performance.now() - start;
    if (waited >= windowMs) {
      return { state: 'dead', record: seen.record, why: `not refreshed for ${Math.round(waited)} ms` };
    }
  }
}
