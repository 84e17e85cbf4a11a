import { realTimers, type Timers } from './timers.js';

/**
 * Resolves after `ms` milliseconds on `timers` (default the platform's), or as soon as `signal`
 * aborts (it never rejects: the caller checks the signal afterwards and says what was aborted).
 */
export function sleep(
  ms: number,
  signal?: AbortSignal,
  timers: Pick<Timers, 'setTimeout' | 'clearTimeout'> = realTimers,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = timers.setTimeout(done, ms);
    function done(): void {
      timers.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
