/**
 * The storage use a status reports: from the platform's Storage API where it has one (each browser
 * engine here), `null` where it has none (Node) or where it fails, never an error.
 */
import { describe, expect, it } from 'vitest';
import { estimateStorage, formatBytes, type StorageManagerLike } from './storage-estimate.js';

describe('estimateStorage', () => {
  it("reads this platform's navigator.storage, or says null where it has no estimate()", async () => {
    const manager = (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage;
    const use = await estimateStorage();
    if (typeof manager?.estimate !== 'function') {
      expect(use).toBeNull(); // Node, or a browser without the Storage API: the documented fallback
      return;
    }
    expect(use).not.toBeNull();
    expect(use?.usage).toBeGreaterThanOrEqual(0);
    expect(use?.quota).toBeGreaterThan(0);
    // persisted() is missing in some engines' workers: then unknown, never a guessed `false`.
    if (typeof manager.persisted === 'function') expect(typeof use?.persisted).toBe('boolean');
    else expect(use?.persisted).toBeNull();
  });

  it('takes the figures of a manager, with persisted unknown where it cannot tell', async () => {
    const estimate = () => Promise.resolve({ usage: 1_200_000, quota: 300_000_000 });
    expect(await estimateStorage({ estimate, persisted: () => Promise.resolve(true) })).toEqual({
      usage: 1_200_000,
      quota: 300_000_000,
      persisted: true,
    });
    expect(await estimateStorage({ estimate })).toEqual({
      usage: 1_200_000,
      quota: 300_000_000,
      persisted: null,
    });
    const refused = () => Promise.reject(new Error('not allowed'));
    expect(await estimateStorage({ estimate, persisted: refused })).toMatchObject({ persisted: null });
  });

  it('is null without estimate(), when it fails, or when it reports no figures', async () => {
    expect(await estimateStorage({})).toBeNull();
    expect(await estimateStorage({ estimate: () => Promise.reject(new Error('SecurityError')) })).toBeNull();
    expect(await estimateStorage({ estimate: () => Promise.resolve({}) })).toBeNull();
  });

  it('formats bytes as browsers show storage', () => {
    expect([512, 1_200_000, 300_000_000, 10_737_418_240].map(formatBytes)).toEqual([
      '512 B',
      '1.2 MB',
      '300 MB',
      '10.7 GB',
    ]);
  });
});
