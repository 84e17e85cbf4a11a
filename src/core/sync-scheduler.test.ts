import type { SyncResult } from '../contracts/replica.js';
import { describe, expect, it } from 'vitest';
import { ManualClock, settle } from '../test-support/manual-clock.js';
import { EMPTY_SYNC_RESULT as RESULT } from '../test-support/sync-result.js';
import { assertSchedule, SyncScheduler, type SyncSchedule } from './sync-scheduler.js';

/** A scheduler whose syncs the test finishes by hand, recording what happened. */
function harness(schedule: SyncSchedule = {}) {
  const clock = new ManualClock();
  const runs: { resolve(): void; reject(e: unknown): void }[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const failures: number[] = [];
  let succeeded = 0;
  const scheduler = new SyncScheduler(
    () =>
      new Promise<SyncResult>((resolve, reject) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs.push({
          resolve: () => {
            concurrent--;
            resolve(RESULT);
          },
          reject: (e) => {
            concurrent--;
            reject(e);
          },
        });
      }),
    {
      started: () => undefined,
      succeeded: () => succeeded++,
      failed: (_e, retryIn) => failures.push(retryIn),
    },
    { debounceMs: 100, intervalMs: 10_000, backoffBaseMs: 1_000, backoffMaxMs: 8_000, ...schedule },
    clock,
  );
  return {
    clock,
    scheduler,
    runs,
    failures,
    get succeeded() {
      return succeeded;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    /** Finishes the latest sync. */
    async finish(ok = true) {
      const run = runs.at(-1)!;
      if (ok) run.resolve();
      else run.reject(new Error('offline'));
      await settle();
    },
  };
}

describe('assertSchedule', () => {
  it('takes live and syncOnStart as true or false, and refuses anything else naming the field', () => {
    expect(() => assertSchedule({ live: false, syncOnStart: true })).not.toThrow();
    for (const name of ['live', 'syncOnStart']) {
      expect(() => assertSchedule({ [name]: 'yes' })).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining(`schedule.${name}`),
        }),
      );
    }
  });
});

describe('SyncScheduler', () => {
  it('syncs at once when it starts leading; a burst of changes: the first syncs at once, the rest share one sync after the debounce', async () => {
    const h = harness();
    h.scheduler.start();
    await h.clock.advance(0);
    expect(h.runs).toHaveLength(1);
    await h.finish();
    // Changes at 0, 30, 60 and 90 ms: the first syncs at once (a lone write leaves at once), the
    // others wait for that sync and then share one, the debounce after it.
    for (let i = 0; i < 4; i++) {
      h.scheduler.changed();
      if (i === 0) expect(h.runs).toHaveLength(2);
      if (i < 3) await h.clock.advance(30);
    }
    await h.finish();
    await h.clock.advance(99);
    expect(h.runs).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.runs).toHaveLength(3);
    await h.finish();
    // Changes 30 ms apart with no sync under way: the first at once, the next debounced.
    await h.clock.advance(1_000);
    h.scheduler.changed();
    expect(h.runs).toHaveLength(4);
    await h.finish();
    await h.clock.advance(30);
    h.scheduler.changed();
    await h.clock.advance(99);
    expect(h.runs).toHaveLength(4);
    await h.clock.advance(1);
    expect(h.runs).toHaveLength(5);
    expect(h.maxConcurrent).toBe(1);
  });

  it('a remote change (the watcher saw the chain move) syncs at once, or once after the sync under way; never when inactive, offline or backing off', async () => {
    const h = harness();
    h.scheduler.remoteChanged();
    await h.clock.advance(10_000);
    expect(h.runs).toHaveLength(0); // not the leader
    h.scheduler.start();
    await h.clock.advance(0);
    await h.finish();
    h.scheduler.remoteChanged();
    expect(h.runs).toHaveLength(2); // no debounce: the change is already on the remote
    h.scheduler.remoteChanged();
    h.scheduler.remoteChanged();
    await h.finish();
    await h.clock.advance(100);
    expect(h.runs).toHaveLength(3);
    await h.finish(false);
    h.scheduler.remoteChanged();
    expect(h.runs).toHaveLength(3); // the backoff decides
    h.scheduler.offline();
    h.scheduler.online();
    expect(h.runs).toHaveLength(4);
    await h.finish();
    h.scheduler.offline();
    h.scheduler.remoteChanged();
    await h.clock.advance(60_000);
    expect(h.runs).toHaveLength(4);
  });

  it('a remote change the last sync saw or made (known) runs no sync; one it did not runs one at once after it', async () => {
    const h = harness();
    h.scheduler.start();
    await h.clock.advance(0);
    await h.finish();
    let known = true;
    h.scheduler.remoteChanged(() => known); // asked now: the last sync saw it
    expect(h.runs).toHaveLength(1);
    h.scheduler.syncNow().catch(() => undefined);
    expect(h.runs).toHaveLength(2);
    h.scheduler.remoteChanged(() => known); // during a sync: asked once it succeeded
    await h.finish();
    expect(h.runs).toHaveLength(2);
    h.scheduler.syncNow().catch(() => undefined);
    known = false;
    h.scheduler.remoteChanged(() => known);
    h.scheduler.remoteChanged(() => true);
    await h.finish();
    expect(h.runs).toHaveLength(4); // one more, at once: no debounce for a remote change
    await h.finish();
    h.scheduler.remoteChanged(); // no check: a change
    expect(h.runs).toHaveLength(5);
    await h.finish();
    expect(h.maxConcurrent).toBe(1);
  });

  it('never runs two syncs at once: a change during a sync runs one more after it', async () => {
    const h = harness();
    h.scheduler.start();
    await h.clock.advance(0);
    h.scheduler.changed();
    h.scheduler.changed();
    const explicit = h.scheduler.syncNow();
    await h.clock.advance(500);
    expect(h.runs).toHaveLength(1);
    await h.finish();
    // syncNow runs after the first, and covers the changes made before it started.
    expect(h.runs).toHaveLength(2);
    await h.finish();
    await expect(explicit).resolves.toEqual(RESULT);
    await h.clock.advance(1_000);
    expect(h.runs).toHaveLength(2);
    // A change during a sync runs one more sync after it.
    h.scheduler.changed();
    await h.clock.advance(100);
    expect(h.runs).toHaveLength(3);
    h.scheduler.changed();
    await h.clock.advance(1_000);
    expect(h.runs).toHaveLength(3);
    await h.finish();
    await h.clock.advance(100);
    expect(h.runs).toHaveLength(4);
    await h.finish();
    expect(h.maxConcurrent).toBe(1);
  });

  it('backs off exponentially with jitter after failures, capped, and ignores changes meanwhile', async () => {
    const h = harness();
    h.clock.rand = 1; // the top of the jitter range: the full delay
    h.scheduler.start();
    await h.clock.advance(0);
    const expected = [1_000, 2_000, 4_000, 8_000, 8_000];
    for (const delay of expected) {
      await h.finish(false);
      expect(h.failures.at(-1)).toBe(delay);
      const before = h.runs.length;
      h.scheduler.changed();
      await h.clock.advance(delay - 1);
      expect(h.runs).toHaveLength(before);
      await h.clock.advance(1);
      expect(h.runs).toHaveLength(before + 1);
    }
    expect(h.scheduler.failures).toBe(5);
    await h.finish();
    expect(h.scheduler.failures).toBe(0);
  });

  it('jitter spreads the delay over its upper half', async () => {
    const h = harness();
    h.clock.rand = 0;
    h.scheduler.start();
    await h.clock.advance(0);
    await h.finish(false);
    await h.clock.advance(500);
    await h.finish(false);
    expect(h.failures).toEqual([500, 1_000]);
  });

  it('coming online forgets the backoff and syncs now', async () => {
    const h = harness();
    h.scheduler.start();
    await h.clock.advance(0);
    await h.finish(false);
    expect(h.runs).toHaveLength(1);
    h.scheduler.online();
    await h.clock.advance(0);
    expect(h.runs).toHaveLength(2);
    await h.finish();
    expect(h.scheduler.failures).toBe(0);
  });

  it('syncs on the interval while idle; an interval of 0 turns that off', async () => {
    const h = harness();
    h.scheduler.start();
    await h.clock.advance(0);
    await h.finish();
    await h.clock.advance(9_999);
    expect(h.runs).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.runs).toHaveLength(2);

    const off = harness({ intervalMs: 0 });
    off.scheduler.start();
    await off.clock.advance(0);
    await off.finish();
    await off.clock.advance(1_000_000);
    expect(off.runs).toHaveLength(1);
  });

  it('with syncOnStart: false, a new leader waits for a change or the interval', async () => {
    const h = harness({ syncOnStart: false });
    h.scheduler.start();
    await h.clock.advance(50);
    expect(h.runs).toHaveLength(0);
    h.scheduler.changed();
    await h.clock.advance(100);
    expect(h.runs).toHaveLength(1);
  });

  it('does nothing on its own unless it leads, and stops when it stops leading', async () => {
    const h = harness();
    h.scheduler.changed();
    h.scheduler.online();
    await h.clock.advance(100_000);
    expect(h.runs).toHaveLength(0);
    h.scheduler.start();
    await h.clock.advance(0);
    await h.finish();
    h.scheduler.changed(); // at once (no change before it)
    expect(h.runs).toHaveLength(2);
    await h.finish();
    h.scheduler.changed(); // right after one: on the debounce timer, which stop() cancels
    h.scheduler.stop();
    await h.clock.advance(100_000);
    expect(h.runs).toHaveLength(2);
    // An explicit sync still runs.
    const explicit = h.scheduler.syncNow();
    await settle();
    expect(h.runs).toHaveLength(3);
    await h.finish();
    await expect(explicit).resolves.toEqual(RESULT);
  });

  it('offline pauses its own syncs (timer, follow-up, triggers) until online, which syncs at once', async () => {
    const h = harness();
    h.scheduler.start();
    await h.clock.advance(0);
    h.scheduler.changed(); // a follow-up, dropped by going offline
    h.scheduler.offline();
    await h.finish();
    h.scheduler.changed();
    h.scheduler.focused();
    await h.clock.advance(100_000);
    expect(h.runs).toHaveLength(1);
    h.scheduler.online();
    expect(h.runs).toHaveLength(2);
    await h.finish();
    await h.clock.advance(10_000);
    expect(h.runs).toHaveLength(3); // the interval runs again
  });

  it('focus asks for a sync after the debounce, like a change', async () => {
    const h = harness({ syncOnStart: false });
    h.scheduler.start();
    h.scheduler.focused();
    await h.clock.advance(99);
    expect(h.runs).toHaveLength(0);
    await h.clock.advance(1);
    expect(h.runs).toHaveLength(1);
  });

  it('syncNow calls made during one sync share the sync after it', async () => {
    const h = harness();
    const first = h.scheduler.syncNow();
    const later = [h.scheduler.syncNow(), h.scheduler.syncNow(), h.scheduler.syncNow()];
    await h.finish();
    expect(h.runs).toHaveLength(2);
    await h.finish();
    await expect(first).resolves.toEqual(RESULT);
    await expect(Promise.all(later)).resolves.toEqual([RESULT, RESULT, RESULT]);
    expect(h.maxConcurrent).toBe(1);
  });

  it('settled waits for the sync under way and a sync asked for, not for the interval', async () => {
    const h = harness();
    h.scheduler.start();
    let settled = false;
    void h.scheduler.settled().then(() => (settled = true));
    h.scheduler.changed(); // during the sync: one more after it, after the debounce
    await h.finish();
    expect(settled).toBe(false);
    await h.clock.advance(100);
    expect(h.runs).toHaveLength(2);
    expect(settled).toBe(false);
    await h.finish();
    await h.clock.advance(0);
    expect(settled).toBe(true); // the interval's timer is armed, and does not count
  });
});
