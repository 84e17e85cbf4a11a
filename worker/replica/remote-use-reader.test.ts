import { describe, expect, it } from 'vitest';
import type { RemoteUse } from '../../src/contracts/replica.js';
import { IndeterminateRemoteError } from '../../src/contracts/errors.js';
import type { DataSetUse } from '../../src/remote/data-set-use.js';
import { settle } from '../../src/test-support/manual-clock.js';
import { EMPTY_SYNC_RESULT } from '../../src/test-support/sync-result.js';
import { RemoteUseReader } from './remote-use-reader.js';

const compacted = {
  ...EMPTY_SYNC_RESULT,
  compaction: { report: { floor: 5, swept: 5, deleted: 9, more: false } },
};

function reader(listing: () => Promise<DataSetUse | null>, height = 40) {
  const told: RemoteUse[] = [];
  let listings = 0;
  const r = new RemoteUseReader({
    usage: () => {
      listings++;
      return listing();
    },
    headHeight: () => Promise.resolve(height),
    measured: (use) => told.push(use),
  });
  return { r, told, listings: () => listings };
}

describe('RemoteUseReader', () => {
  it('lists after the first sync, then only after a sync that compacted', async () => {
    const { r, told, listings } = reader(() => Promise.resolve({ objects: 30, bytes: 9_000, versions: 11 }));
    r.afterSync(EMPTY_SYNC_RESULT);
    await settle();
    expect(told).toEqual([
      { retained: { from: 30, to: 40 }, objects: 30, bytes: 9_000, at: expect.any(Number) },
    ]);
    r.afterSync(EMPTY_SYNC_RESULT);
    await settle();
    expect(listings()).toBe(1);
    r.afterSync(compacted);
    await settle();
    expect(listings()).toBe(2);
    expect(told).toHaveLength(2);
  });

  it('one listing at a time: syncs meanwhile ask for none', async () => {
    let release!: (use: DataSetUse) => void;
    const { r, listings } = reader(() => new Promise((resolve) => (release = resolve)));
    r.afterSync(compacted);
    r.afterSync(compacted);
    expect(listings()).toBe(1);
    release({ objects: 1, bytes: 1, versions: 1 });
    await settle();
    r.afterSync(compacted);
    expect(listings()).toBe(2);
  });

  it('a server that cannot list tells nothing; a failed listing is tried again after the next sync', async () => {
    const silent = reader(() => Promise.resolve(null));
    silent.r.afterSync(EMPTY_SYNC_RESULT);
    await settle();
    expect(silent.told).toEqual([]);
    let fail = true;
    const { r, told, listings } = reader(() =>
      fail
        ? Promise.reject(new IndeterminateRemoteError('offline'))
        : Promise.resolve({ objects: 2, bytes: null, versions: 0 }),
    );
    r.afterSync(EMPTY_SYNC_RESULT);
    await settle();
    expect(told).toEqual([]);
    fail = false;
    r.afterSync(EMPTY_SYNC_RESULT);
    await settle();
    expect(listings()).toBe(2);
    // No version kept: an empty range above the head.
    expect(told).toEqual([
      { retained: { from: 41, to: 40 }, objects: 2, bytes: null, at: expect.any(Number) },
    ]);
  });
});
