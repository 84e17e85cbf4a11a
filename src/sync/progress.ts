import type { SyncPhase, SyncProgress } from '../contracts/replica.js';
import { realTimers, type Timers } from '../core/timers.js';

/** Shortest time between two events of one phase (ms): enough for a smooth bar, few messages. */
export const PROGRESS_INTERVAL_MS = 100;

/** Where the sync engine tells its progress (see {@link ProgressMeter}). */
export interface ProgressSink {
  /**
   * A phase starts (or goes on: a second round of the same phase keeps counting). `remaining` is
   * the units still ahead, when known, and `totalBytes` the bytes of the whole phase, when the
   * storage states them; a different phase under way ends first.
   */
  begin(phase: SyncPhase, remaining: number | null, totalBytes?: number): void;
  /** One page of the phase is done: `units` more units, `bytes` more bytes. */
  page(units: number, bytes: number): void;
  /** The sync ended (`completed`: successfully): the last phase's final event goes out. */
  finish(completed: boolean): void;
}

interface Running {
  readonly phase: SyncPhase;
  done: number;
  total: number | null;
  bytes: number;
  totalBytes: number | undefined;
  /** An event is owed (a page since the last one). */
  owed: boolean;
}

/**
 * The one place sync progress is counted and throttled. The engine calls it once per page; it
 * reports to `report`:
 * - once when a phase begins (`done` 0, or where a resumed phase stands),
 * - for a page, at once when {@link PROGRESS_INTERVAL_MS} passed since the phase's last event,
 *   else once that much time has passed (pages in between are folded into that one event): never
 *   more than one event per page, and at least one per interval while pages come,
 * - when the phase ends (another begins, or the sync finishes): `done === total` if it completed.
 *
 * `done` and `bytes` never go back within a phase, and `total` is never below `done`.
 */
export class ProgressMeter implements ProgressSink {
  readonly #report: (progress: SyncProgress) => void;
  readonly #timers: Timers;
  #running: Running | null = null;
  #lastAt = Number.NEGATIVE_INFINITY;
  #timer: unknown = null;

  constructor(report: (progress: SyncProgress) => void, timers: Timers = realTimers) {
    this.#report = report;
    this.#timers = timers;
  }

  begin(phase: SyncPhase, remaining: number | null, totalBytes?: number): void {
    const running = this.#running;
    if (running?.phase === phase) {
      // A later round of the same phase: what it counted stands, the new total adds what is left.
      const total = remaining === null || running.total === null ? null : running.done + remaining;
      running.total = total;
      if (totalBytes !== undefined) running.totalBytes = totalBytes;
      return; // told with its next page: never more than one event per page
    }
    if (running) this.#end(running, true);
    this.#running = { phase, done: 0, total: remaining, bytes: 0, totalBytes, owed: false };
    this.#emit();
  }

  page(units: number, bytes: number): void {
    const running = this.#running;
    if (!running) return;
    running.done += Math.max(0, units);
    running.bytes += Math.max(0, bytes);
    running.owed = true;
    this.#emitSoon();
  }

  finish(completed: boolean): void {
    const running = this.#running;
    this.#running = null;
    if (running) this.#end(running, completed);
    this.#lastAt = Number.NEGATIVE_INFINITY;
  }

  /** The phase's last event: the total comes down to what was done when the phase completed. */
  #end(running: Running, completed: boolean): void {
    this.#cancelTimer();
    if (completed) {
      const exact = running.total === running.done;
      running.total = running.done;
      if (!running.owed && exact) return; // its last event said so already
      running.owed = true;
    }
    if (running.owed) this.#send(running);
  }

  /** An event now if the interval has passed, else one when it has (at most one timer). */
  #emitSoon(): void {
    if (this.#timer !== null) return;
    const wait = this.#lastAt + PROGRESS_INTERVAL_MS - this.#timers.now();
    if (wait <= 0) {
      this.#emit();
      return;
    }
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      this.#emit();
    }, wait);
  }

  #emit(): void {
    const running = this.#running;
    if (running) this.#send(running);
  }

  #send(running: Running): void {
    this.#lastAt = this.#timers.now();
    running.owed = false;
    const total = running.total === null ? null : Math.max(running.total, running.done);
    running.total = total;
    const { phase, done, bytes, totalBytes } = running;
    this.#report({ phase, done, total, bytes, ...(totalBytes !== undefined && { totalBytes }) });
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
