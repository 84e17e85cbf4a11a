/**
 * Instance liveness through Web Locks: every tab or worker instance holds an exclusive lock named
 * after its pid for its whole life. The browser releases it when the instance dies (tab closed,
 * worker terminated, crash), so "is the lock held?" answers "is the instance alive?" from anywhere
 * in the origin.
 */

const PREFIX = 'chainsync:pid:';

/** The Web Lock name of `pid`. */
export function pidLockName(pid: string): string {
  return `${PREFIX}${pid}`;
}

/** Takes `pid`'s lock and holds it until `release` is called or the instance dies. Resolves once held. */
export function holdPidLock(pid: string): Promise<{ release(): void }> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    navigator.locks
      .request(pidLockName(pid), { mode: 'exclusive', ifAvailable: true }, async (lock) => {
        if (!lock) {
          reject(new Error(`pid ${pid} is already held by another live instance.`));
          return;
        }
        resolve({ release });
        await held;
      })
      .catch(reject);
  });
}

/** The pids whose lock is held right now (one query: a consistent snapshot). */
export async function livePids(): Promise<Set<string>> {
  const { held = [] } = await navigator.locks.query();
  const pids = new Set<string>();
  for (const lock of held) if (lock.name?.startsWith(PREFIX)) pids.add(lock.name.slice(PREFIX.length));
  return pids;
}

/**
 * Calls `onDeath` once `pid`'s instance is gone: queues for its lock, which is granted only when
 * the holder dies or releases it. `cancel()` withdraws the request.
 */
export function watchPidLock(pid: string, onDeath: () => void): { cancel(): void } {
  const controller = new AbortController();
  navigator.locks
    .request(pidLockName(pid), { signal: controller.signal }, () => {
      onDeath();
    })
    .catch(() => undefined); // aborted by cancel()
  return { cancel: () => controller.abort() };
}
