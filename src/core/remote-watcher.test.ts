import { describe, expect, it } from 'vitest';
import type { ChangeCheck, ReadIfChangedOptions } from '../contracts/remote-backend.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { ManualClock, settle } from '../test-support/manual-clock.js';
import { RemoteWatcher, type RemoteWatcherOptions } from './remote-watcher.js';

interface Asked {
  readonly since: string | null;
  readonly options: ReadIfChangedOptions;
  answer(check: ChangeCheck): Promise<void>;
  fail(error: unknown): Promise<void>;
}

/** A watcher whose head checks the test answers by hand. */
function harness(options: Partial<RemoteWatcherOptions> = {}) {
  const clock = new ManualClock();
  const asked: Asked[] = [];
  const errors: unknown[] = [];
  let changes = 0;
  const watcher = new RemoteWatcher({
    check: (since, opts) =>
      new Promise<ChangeCheck>((resolve, reject) => {
        asked.push({
          since,
          options: opts,
          answer: async (check) => {
            resolve(check);
            await settle();
          },
          fail: async (error) => {
            reject(error);
            await settle();
          },
        });
      }),
    onChange: () => changes++,
    onError: (error) => errors.push(error),
    timers: clock,
    ...options,
  });
  return { clock, asked, errors, watcher, changes: () => changes, last: () => asked.at(-1)! };
}

const polled = (version: string | null, changed: boolean): ChangeCheck => ({ version, changed, held: false });

describe('RemoteWatcher', () => {
  it('polls a server without the signal on the focused interval, telling the owner of the first answer and of each change', async () => {
    const h = harness();
    h.watcher.start();
    expect(h.asked).toHaveLength(1);
    expect(h.last().since).toBeNull();
    expect(h.last().options.waitSeconds).toBe(20);
    await h.last().answer(polled('"a"', true));
    expect(h.changes()).toBe(1); // the first answer: the watcher cannot know what the last sync saw
    expect(h.watcher.transport).toBe('polling');
    await h.clock.advance(4_999);
    expect(h.asked).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.asked).toHaveLength(2);
    expect(h.last().since).toBe('"a"');
    await h.last().answer(polled('"a"', false));
    expect(h.changes()).toBe(1);
    await h.clock.advance(5_000);
    await h.last().answer(polled('"b"', true));
    expect(h.changes()).toBe(2);
    await h.clock.advance(5_000);
    expect(h.last().since).toBe('"b"');
  });

  it('polls slower when the page is not focused or hidden, and at once when it is looked at again', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer(polled('"a"', true));
    h.watcher.page({ visible: true, focused: false });
    await h.clock.advance(5_000);
    await h.last().answer(polled('"a"', false));
    expect(h.asked).toHaveLength(2); // the timer armed while focused
    await h.clock.advance(14_999);
    expect(h.asked).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.asked).toHaveLength(3);
    h.watcher.page({ visible: false, focused: false });
    await h.last().answer(polled('"a"', false));
    await h.clock.advance(59_999);
    expect(h.asked).toHaveLength(3);
    h.watcher.page({ visible: true, focused: true });
    expect(h.asked).toHaveLength(4);
    expect(h.last().since).toBe('"a"');
  });

  it('asks again at once while the server holds its requests (the signal), and reports it', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    expect(h.asked).toHaveLength(2);
    expect(h.watcher.transport).toBe('signal');
    await h.last().answer({ version: '"a"', changed: false, held: true }); // the wait was over
    expect(h.asked).toHaveLength(3);
    expect(h.changes()).toBe(1);
    await h.last().answer({ version: '"b"', changed: true, held: true });
    expect(h.changes()).toBe(2);
    expect(h.last().since).toBe('"b"');
    // An answer that was not held (the server at its cap, a proxy stripping the header): poll.
    await h.last().answer(polled('"b"', false));
    expect(h.watcher.transport).toBe('polling');
    expect(h.asked).toHaveLength(4);
    await h.clock.advance(5_000);
    expect(h.asked).toHaveLength(5);
  });

  it('pauses offline (aborting a held request) and checks at once when back online', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    const held = h.last();
    h.watcher.offline();
    expect(held.options.signal?.aborted).toBe(true);
    expect(h.watcher.transport).toBe('offline');
    await held.fail(new Error('aborted'));
    await h.clock.advance(600_000);
    expect(h.asked).toHaveLength(2);
    expect(h.errors).toEqual([]);
    h.watcher.online();
    expect(h.asked).toHaveLength(3);
    expect(h.last().since).toBe('"a"');
  });

  it('told offline before it starts (a tab opened offline), checks nothing until back online', async () => {
    const h = harness();
    h.watcher.offline();
    h.watcher.start();
    expect(h.watcher.transport).toBe('offline');
    await h.clock.advance(600_000);
    expect(h.asked).toHaveLength(0);
    h.watcher.online();
    expect(h.asked).toHaveLength(1);
    expect(h.last().since).toBeNull();
    await h.last().answer(polled('"a"', true));
    expect(h.changes()).toBe(1);
  });

  it('a held request cut after standing a while (a proxy closing idle connections) asks for shorter holds and does not back off further', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    expect(h.last().options.waitSeconds).toBe(20);
    for (let cut = 0; cut < 5; cut++) {
      await h.clock.advance(5_000); // the proxy's idle cut
      const asked = h.asked.length;
      await h.last().fail(new Error('socket hang up'));
      await h.clock.advance(750); // the first backoff step each time (1 000 ms, jitter at 0.5)
      expect(h.asked).toHaveLength(asked + 1);
      expect(h.last().since).toBe('"a"');
      expect(h.last().options.waitSeconds).toBe(4); // under the 5 s the connection stood
    }
    // Held for 4 s, the requests are answered before the cut: live again, no change missed.
    await h.clock.advance(4_000);
    await h.last().answer({ version: '"a"', changed: false, held: true });
    expect(h.asked.at(-1)!.options.waitSeconds).toBe(4);
    await h.last().answer({ version: '"b"', changed: true, held: true });
    expect(h.changes()).toBe(2);
    expect(h.watcher.transport).toBe('signal');
  });

  it('holds shortened by a cut grow back after ten full holds in a row (the cut was a restart), up to the wait asked for', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    await h.clock.advance(3_000);
    await h.last().fail(new Error('server restarting'));
    await h.clock.advance(750);
    expect(h.last().options.waitSeconds).toBe(2);
    const fullHolds = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await h.clock.advance(h.last().options.waitSeconds! * 1000);
        await h.last().answer({ version: '"a"', changed: false, held: true });
      }
    };
    await fullHolds(9);
    expect(h.last().options.waitSeconds).toBe(2);
    await fullHolds(1);
    expect(h.last().options.waitSeconds).toBe(4);
    await fullHolds(10);
    expect(h.last().options.waitSeconds).toBe(8);
    await fullHolds(20);
    expect(h.last().options.waitSeconds).toBe(20); // 16, then capped at the 20 asked for
    await fullHolds(10);
    expect(h.last().options.waitSeconds).toBe(20);
  });

  it('after a failure (server restart, a proxy cutting the connection) re-arms with the last version seen, backing off', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    await h.last().fail(new Error('socket hang up'));
    expect(h.errors).toHaveLength(1);
    await h.clock.advance(749); // 1 000 ms with jitter in [500, 1 000]: 750 at random() = 0.5
    expect(h.asked).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.asked).toHaveLength(3);
    expect(h.last().since).toBe('"a"');
    await h.last().fail(new Error('ECONNREFUSED'));
    await h.clock.advance(1_499);
    expect(h.asked).toHaveLength(3);
    await h.clock.advance(1);
    // The change made while it was down is answered at once: the owner hears of it.
    await h.last().answer({ version: '"b"', changed: true, held: true });
    expect(h.changes()).toBe(2);
  });

  it('stop() aborts the held request and checks no more; start() again tells the owner of its first answer', async () => {
    const h = harness();
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    const held = h.last();
    h.watcher.stop();
    expect(held.options.signal?.aborted).toBe(true);
    expect(h.watcher.transport).toBe('stopped');
    await held.answer({ version: '"b"', changed: true, held: true }); // too late: ignored
    await h.clock.advance(600_000);
    expect(h.asked).toHaveLength(2);
    expect(h.changes()).toBe(1);
    h.watcher.start();
    expect(h.last().since).toBeNull();
    await h.last().answer({ version: '"b"', changed: true, held: true });
    expect(h.changes()).toBe(2);
  });

  it('with changeOnStart: false, the first answer only sets what later answers are compared with', async () => {
    const h = harness({ changeOnStart: false });
    h.watcher.start();
    await h.last().answer({ version: '"a"', changed: true, held: true });
    expect(h.changes()).toBe(0);
    expect(h.last().since).toBe('"a"');
    await h.last().answer({ version: '"b"', changed: true, held: true });
    expect(h.changes()).toBe(1);
  });

  it('refuses bad options with INVALID_ARGUMENT', async () => {
    const check = () => Promise.resolve(polled(null, false));
    const bad: unknown[] = [
      {},
      { check, onChange: 1 },
      { check, onChange: () => undefined, waitSeconds: 61 },
      { check, onChange: () => undefined, intervals: { hiddenMs: -1 } },
    ];
    for (const options of bad) {
      await rejectsWith(
        (async () => new RemoteWatcher(options as RemoteWatcherOptions))(),
        'INVALID_ARGUMENT',
      );
    }
  });
});

describe('RemoteWatcher.onTransport (the status every tab shows)', () => {
  it('tells each change of transport once: polling, signal, polling after a failure, offline, stopped', async () => {
    const told: string[] = [];
    const h = harness({ onTransport: (t) => told.push(t) });
    h.watcher.start();
    expect(told).toEqual(['polling']); // nothing held yet
    await h.last().answer({ version: '"a"', changed: true, held: true });
    expect(told).toEqual(['polling', 'signal']);
    // Another held answer: still the signal, nothing told.
    await h.last().answer({ version: '"b"', changed: true, held: true });
    expect(told).toEqual(['polling', 'signal']);
    await h.last().fail(new Error('cut by a proxy'));
    expect(told).toEqual(['polling', 'signal', 'polling']);
    h.watcher.offline();
    expect(told.at(-1)).toBe('offline');
    expect(h.watcher.transport).toBe('offline');
    h.watcher.online();
    expect(told.at(-1)).toBe('polling');
    await h.last().answer({ version: '"b"', changed: false, held: true });
    expect(told.at(-1)).toBe('signal');
    h.watcher.stop();
    expect(told).toEqual(['polling', 'signal', 'polling', 'offline', 'polling', 'signal', 'stopped']);
  });

  it('refuses an onTransport that is not a function', () => {
    expect(() => harness({ onTransport: 'log' as never })).toThrow(/onTransport/);
  });
});
