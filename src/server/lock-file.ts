/**
 * The files of the directory lock: `server.lock.<generation>`, each a JSON {@link LockRecord}
 * naming its holder, created with `O_EXCL` so that of two processes creating one generation exactly
 * one succeeds. (An older chainsync-server wrote `server.lock` holding a bare pid.)
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessIdentity } from './process-identity.js';
import { isErrorCode, openUnless } from './error-code.js';

const LOCK_FILE_NAME = /^server\.lock\.(\d+)$/;

/** The lock file an older chainsync-server wrote: a bare pid, no heartbeat. */
export const LEGACY_LOCK_FILE = 'server.lock';

/** What a lock file says: who holds it, since when, and which acquisition it is. */
export interface LockRecord extends ProcessIdentity {
  /** Unique per acquisition: tells this holder's lock from any later one. */
  readonly instance: string;
  /** ISO 8601. */
  readonly since: string;
}

/** A lock file as seen at one moment: its record (`null` when unreadable) and its identity on disk. */
export interface LockSighting {
  readonly record: LockRecord | null;
  readonly mtimeMs: number;
  readonly ino: number;
}

export function lockFilePath(dir: string, generation: number): string {
  return join(dir, `server.lock.${generation}`);
}

/** The generations of the lock files in `dir`, ascending. */
export async function lockGenerations(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .flatMap((name) => {
      const match = LOCK_FILE_NAME.exec(name);
      return match ? [Number(match[1])] : [];
    })
    .sort((a, b) => a - b);
}

function parseRecord(text: string): LockRecord | null {
  try {
    const value = JSON.parse(text) as Partial<LockRecord> | null;
    if (
      typeof value?.pid === 'number' &&
      typeof value.hostname === 'string' &&
      typeof value.instance === 'string' &&
      typeof value.since === 'string'
    ) {
      return {
        pid: value.pid,
        hostname: value.hostname,
        bootId: typeof value.bootId === 'string' ? value.bootId : null,
        pidNamespace: typeof value.pidNamespace === 'string' ? value.pidNamespace : null,
        instance: value.instance,
        since: value.since,
      };
    }
  } catch {
    // Not JSON: being written right now, or damaged.
  }
  return null;
}

/**
 * Reads a lock file, or `null` when there is none. It opens the file each time rather than
 * `stat`ing its path: on a network file system opening revalidates cached attributes
 * (close-to-open consistency), so another machine's refreshes are seen.
 */
export async function sightLock(path: string): Promise<LockSighting | null> {
  const handle = await openUnless(path, 'r', 'ENOENT');
  if (handle === null) return null;
  try {
    const { mtimeMs, ino } = await handle.stat();
    return { record: parseRecord(await handle.readFile('utf8')), mtimeMs, ino };
  } finally {
    await handle.close();
  }
}

/**
 * Creates the lock file of `generation` for `holder`, or returns `null` when it exists already
 * (another process created it first). The returned handle stays open for the heartbeat.
 */
export async function createLockFile(
  path: string,
  holder: ProcessIdentity,
): Promise<{ handle: FileHandle; record: LockRecord } | null> {
  const handle = await openUnless(path, 'wx', 'EEXIST');
  if (handle === null) return null;
  const record: LockRecord = { ...holder, instance: randomUUID(), since: new Date().toISOString() };
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
    await handle.sync();
    return { handle, record };
  } catch (error) {
    await handle.close();
    await removeLockFile(path);
    throw error;
  }
}

/** Removes a lock file; one already gone is fine. */
export async function removeLockFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isErrorCode(error, 'ENOENT')) throw error;
  }
}

/** Reads the pid in the legacy lock file of `dir`, or `null` when there is none (or no pid in it). */
export async function legacyLockPid(dir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(join(dir, LEGACY_LOCK_FILE), 'utf8');
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) return null;
    throw error;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}
