/**
 * The Coalescer (issue 13 part 1): calls waiting for the same turn share one section, each with its
 * own outcome. Turns are gates the test opens, never timers.
 */
import { describe, expect, it } from 'vitest';
import { Coalescer, type Settled } from './coalescer.js';

/** A lock whose turns the test hands out one at a time. */
function gatedLock() {
  const waiting: Array<{ section: () => Promise<void>; done: (error?: unknown) => void }> = [];
  return {
    enter: (section: () => Promise<void>) =>
      new Promise<void>((resolve, reject) =>
        waiting.push({ section, done: (error) => (error ? reject(error) : resolve()) }),
      ),
    /** Runs the next waiting section to its end. */
    async next() {
      const turn = waiting.shift()!;
      await turn.section();
      turn.done();
    },
    /** Refuses the next turn: its section never runs. */
    refuse(error: unknown) {
      waiting.shift()!.done(error);
    },
    get waiting() {
      return waiting.length;
    },
  };
}

describe('Coalescer', () => {
  it('calls made before their turn share one section, in arrival order, each with its own outcome', async () => {
    const lock = gatedLock();
    const sections: number[][] = [];
    const coalescer = new Coalescer<number, number>(lock.enter, async (items) => {
      sections.push([...items]);
      return items.map((n): Settled<number> =>
        n < 0 ? { ok: false, error: new Error(`bad ${n}`) } : { ok: true, value: n * 10 },
      );
    });
    const first = [coalescer.submit(1), coalescer.submit(-2), coalescer.submit(3)];
    expect(lock.waiting).toBe(1);
    await lock.next();
    // Submitted after that section ran: the next turn, asked for once.
    const second = [coalescer.submit(4), coalescer.submit(5)];
    expect(lock.waiting).toBe(1);
    await lock.next();
    const settled = await Promise.allSettled([...first, ...second]);
    expect(sections).toEqual([
      [1, -2, 3],
      [4, 5],
    ]);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      'bad -2',
      30,
      40,
      50,
    ]);
  });

  it('a turn that never comes (the lock refused) rejects every call waiting for it, and the next call asks again', async () => {
    const lock = gatedLock();
    const coalescer = new Coalescer<number, number>(lock.enter, async (items) =>
      items.map((n) => ({ ok: true, value: n })),
    );
    const waiting = [coalescer.submit(1), coalescer.submit(2)];
    lock.refuse(new Error('lock request aborted'));
    for (const call of waiting) await expect(call).rejects.toThrow('lock request aborted');
    const later = coalescer.submit(3);
    expect(lock.waiting).toBe(1);
    await lock.next();
    expect(await later).toBe(3);
  });

  it('a section that throws fails each of its calls with that error', async () => {
    const lock = gatedLock();
    const coalescer = new Coalescer<number, number>(lock.enter, async () => {
      throw new Error('the store is closed');
    });
    const calls = [coalescer.submit(1), coalescer.submit(2)];
    await lock.next();
    for (const call of calls) await expect(call).rejects.toThrow('the store is closed');
  });
});
