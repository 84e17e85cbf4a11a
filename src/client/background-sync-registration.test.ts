import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReplicaStatus } from '../contracts/replica.js';
import { backgroundSyncRegistration } from './background-sync-registration.js';

const idle: ReplicaStatus = {
  online: true,
  syncing: false,
  pending: 0,
  lastError: null,
  lastSyncAt: null,
  lastPushed: [],
  snapshotError: null,
  leader: true,
  transport: 'off',
  storage: null,
  remote: null,
};
const networkFailure = {
  name: 'DeterminateRemoteError',
  message: 'failed on the network',
  code: 'REMOTE_FAILED',
  fields: { network: true },
} as const;
const serverFailure = {
  name: 'DeterminateRemoteError',
  message: '502',
  code: 'REMOTE_FAILED',
  fields: { network: false, status: 502 },
} as const;

/** A page whose service worker registration records the tags registered. */
function stubServiceWorker(register: (tag: string) => Promise<void>) {
  vi.stubGlobal('navigator', { serviceWorker: { getRegistration: async () => ({ sync: { register } }) } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('backgroundSyncRegistration', () => {
  it('registers the store tag once per spell of pending edits without network', async () => {
    const tags: string[] = [];
    stubServiceWorker(async (tag) => void tags.push(tag));
    const tell = backgroundSyncRegistration('notes');
    tell({ ...idle, pending: 2, lastError: serverFailure }); // the server failed: not a network matter
    tell({ ...idle, pending: 0, online: false }); // offline, nothing to push
    await vi.waitFor(() => expect(tags).toEqual([]));
    tell({ ...idle, pending: 2, lastError: networkFailure });
    tell({ ...idle, pending: 3, lastError: networkFailure });
    tell({ ...idle, pending: 3, online: false });
    await vi.waitFor(() => expect(tags).toEqual(['chainsync:notes']));
    // A successful sync ends the spell; the next one registers again.
    tell({ ...idle, pending: 0 });
    tell({ ...idle, pending: 1, online: false });
    await vi.waitFor(() => expect(tags).toEqual(['chainsync:notes', 'chainsync:notes']));
  });

  it('does nothing without a service worker, and warns once when the browser refuses', async () => {
    vi.stubGlobal('navigator', {});
    backgroundSyncRegistration('notes')({ ...idle, pending: 1, online: false });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let calls = 0;
    stubServiceWorker(async () => {
      calls += 1;
      throw new DOMException('Background Sync is disabled.', 'NotAllowedError');
    });
    const tell = backgroundSyncRegistration('notes');
    tell({ ...idle, pending: 1, online: false });
    await vi.waitFor(() => expect(calls).toBe(1));
    await vi.waitFor(() => expect(warn).toHaveBeenCalledTimes(1));
    tell({ ...idle, pending: 2, online: false }); // tried again (not registered), but said once
    await vi.waitFor(() => expect(calls).toBe(2));
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});
