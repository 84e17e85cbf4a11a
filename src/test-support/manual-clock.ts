/** Injected {@link Timers} for tests: time moves only when the test says so. */
import type { Timers } from '../core/timers.js';

/** Timers that fire only when the test advances time. */
export class ManualClock implements Timers {
  t = 0;
  rand = 0.5;
  #timers = new Map<number, { due: number; fn: () => void }>();
  #next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { due: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  now(): number {
    return this.t;
  }
  random(): number {
    return this.rand;
  }
  /** Moves time forward, firing due timers in order and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.due <= end)
        .sort((a, b) => a[1].due - b[1].due)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.t = due[1].due;
      due[1].fn();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise callbacks run (a few microtask turns). */
export const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};
