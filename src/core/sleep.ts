/**
 * Resolves after `ms` milliseconds, or as soon as `signal` aborts (it never rejects: the caller
 * checks the signal afterwards and says what was aborted).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
