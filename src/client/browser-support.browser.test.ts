/**
 * Issue 17: where an engine lacks a feature the engine needs, openStore and openReplica fail with
 * a typed error naming it before starting anything. Run in every engine: the page's navigator.locks
 * is hidden for the test, as on an engine without Web Locks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UnsupportedBrowserError } from '../contracts/errors.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { openReplica } from './open-replica.js';
import { openStore } from './open-store.js';

afterEach(() => {
  // Shows the navigator's own Web Locks again (the property below shadows its prototype's).
  delete (navigator as { locks?: unknown }).locks;
});

function hideWebLocks(): void {
  Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
}

describe('a browser without Web Locks', () => {
  it('openStore and openReplica fail with UNSUPPORTED_BROWSER naming navigator.locks, and start no worker', async () => {
    hideWebLocks();
    let started = 0;
    const worker = () => {
      started++;
      return new Worker(new URL('../../worker/worker.js', import.meta.url), { type: 'module' });
    };
    const store = await rejectsWith<UnsupportedBrowserError>(
      openStore('no-locks', { worker }),
      'UNSUPPORTED_BROWSER',
    );
    expect(store.feature).toBe('navigator.locks');
    const replica = await rejectsWith<UnsupportedBrowserError>(
      openReplica({ name: 'no-locks', clientId: crypto.randomUUID(), worker }),
      'UNSUPPORTED_BROWSER',
    );
    expect(replica.feature).toBe('navigator.locks');
    expect(started).toBe(0);
  });

  it('opens as usual once the feature is there', async () => {
    expect(navigator.locks).toBeDefined();
    const store = await openStore(`with-locks-${crypto.randomUUID()}`);
    await store.close();
  });
});
