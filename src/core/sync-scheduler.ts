import type { SyncResult } from '../contracts/replica.js';
import { InvalidArgumentError } from '../contracts/errors.js';

/** When the leader syncs on its own. */
export interface SyncSchedule {
  /** Sync this long after a local change (changes within the window share one sync). Default 250 ms. */
  readonly debounceMs?: number;
  /** Sync at least this often while nothing else triggers one. Default 30 000 ms; 0 turns it off. */
  readonly intervalMs?: number;
  /** First retry delay after a failure, doubled per failure in a row. Default 1 000 ms. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay. Default 60 000 ms. */
  readonly backoffMaxMs?: number;
  /** Sync as soon as this tab becomes the leader. Default true. */
  readonly syncOnStart?: boolean;
}

/** Checks a {@link SyncSchedule}; throws INVALID_ARGUMENT naming the bad field. */
export function assertSchedule(schedule: unknown): asserts schedule is SyncSchedule {
  if (typeof schedule !== 'object' || schedule === null) {
    throw new InvalidArgumentError(
      'schedule',
      'expected { debounceMs?, intervalMs?, backoffBaseMs?, backoffMaxMs? }.',
    );
  }
  const s = schedule as Record<string, unknown>;
  for (const name of ['debounceMs', 'intervalMs', 'backoffBaseMs', 'backoffMaxMs']) {
    const value = s[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
      throw new InvalidArgumentError(
        `schedule.${name}`,
        'expected a whole number of milliseconds, 0 or more.',
      );
    }
  }
  if (s.syncOnStart !== undefined && typeof s.syncOnStart !== 'boolean') {
    throw new InvalidArgumentError('schedule.syncOnStart', 'expected true or false.');
  }
}

/** What the scheduler tells its host about the sync it runs. */
export interface SchedulerEvents {
  started(): void;
  succeeded(result: SyncResult): void;
  failed(error: unknown, retryInMs: number): void;
}

/** Timers and randomness, replaceable in tests. */
export interface SchedulerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
  random(): number;
}

const realClock: SchedulerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
  random: Math.random,
};

/**
 * Decides when the leader syncs: on local changes (debounced), on coming online, on an interval,
 * and after a failure with exponential backoff and full jitter in [delay/2, delay]. Never two
 * syncs at once: a trigger during a sync runs one more sync after it. Inactive (not the leader),
 * it only runs syncs asked for explicitly through {@link SyncScheduler.syncNow}.
 */
export class SyncScheduler {
  readonly #sync: () => Promise<SyncResult>;
  readonly #events: SchedulerEvents;
  readonly #clock: SchedulerClock;
  readonly #debounceMs: number;
  readonly #intervalMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #syncOnStart: boolean;
  #active = false;
  #timer: unknown = null;
  #timerDue = Infinity;
  #running: Promise<SyncResult> | null = null;
  #again = false;
  #failures = 0;

  constructor(
    sync: () => Promise<SyncResult>,
    events: SchedulerEvents,
    schedule: SyncSchedule = {},
    clock: SchedulerClock = realClock,
  ) {
    this.#sync = sync;
    this.#events = events;
    this.#clock = clock;
    this.#debounceMs = schedule.debounceMs ?? 250;
    this.#intervalMs = schedule.intervalMs ?? 30_000;
    this.#backoffBaseMs = schedule.backoffBaseMs ?? 1_000;
    this.#backoffMaxMs = schedule.backoffMaxMs ?? 60_000;
    this.#syncOnStart = schedule.syncOnStart ?? true;
  }

  /** Failed syncs in a row (0 after a success). */
  get failures(): number {
    return this.#failures;
  }

  get running(): boolean {
    return this.#running !== null;
  }

  /** Starts syncing on its own (this instance became the leader): at once, unless told otherwise. */
  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#schedule(this.#syncOnStart ? 0 : this.#intervalMs === 0 ? null : this.#intervalMs);
  }

  /** Stops syncing on its own; a sync under way finishes. */
  stop(): void {
    this.#active = false;
    this.#cancelTimer();
  }

  /** A local change: sync after the debounce, unless backing off after a failure. */
  changed(): void {
    if (!this.#active) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#failures > 0) return; // the backoff timer decides
    this.#schedule(this.#debounceMs);
  }

  /** The network came back: forget the backoff and sync now. */
  online(): void {
    this.#failures = 0;
    if (!this.#active) return;
    if (this.#running) this.#again = true;
    else this.#schedule(0, true);
  }

  /** Runs a sync now (after the one under way, if any) and returns its result. */
  async syncNow(): Promise<SyncResult> {
    while (this.#running) await this.#running.catch(() => undefined);
    return this.#run();
  }

  #run(): Promise<SyncResult> {
    this.#cancelTimer();
    this.#again = false;
    this.#events.started();
    const run = this.#sync();
    this.#running = run;
    run.then(
      (result) => {
        this.#running = null;
        this.#failures = 0;
        this.#events.succeeded(result);
        if (this.#again) this.#schedule(this.#debounceMs);
        else this.#schedule(this.#intervalMs === 0 ? null : this.#intervalMs);
      },
      (error: unknown) => {
        this.#running = null;
        this.#failures++;
        const delay = this.#backoffDelay();
        this.#events.failed(error, delay);
        this.#schedule(delay, true);
      },
    );
    return run;
  }

  /** Exponential in the failures in a row, capped, with jitter so tabs of many users spread out. */
  #backoffDelay(): number {
    const exp = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(30, this.#failures - 1));
    return Math.round(exp / 2 + (exp / 2) * this.#clock.random());
  }

  /** Arms the timer `ms` from now (`null`: not at all); an earlier timer wins unless `replace`. */
  #schedule(ms: number | null, replace = false): void {
    if (!this.#active || ms === null) return;
    const due = this.#clock.now() + ms;
    if (this.#timer !== null && !replace && this.#timerDue <= due) return;
    this.#cancelTimer();
    this.#timerDue = due;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#timerDue = Infinity;
      if (!this.#active) return;
      if (this.#running) this.#again = true;
      else this.#run().catch(() => undefined); // reported through events.failed
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerDue = Infinity;
  }
}
