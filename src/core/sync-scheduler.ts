import type { SyncResult } from '../contracts/replica.js';
import { InvalidArgumentError } from '../contracts/errors.js';
import { sleep } from './sleep.js';
import { realTimers, type Timers } from './timers.js';

/** When the leader syncs on its own. */
export interface SyncSchedule {
  /**
   * How long local changes may wait to share a sync. A change with none in the `debounceMs` before
   * it syncs at once; the changes that follow it within the window share one sync, this long after
   * (or after the sync under way). Default 250 ms.
   */
  readonly debounceMs?: number;
  /** Sync at least this often while nothing else triggers one. Default 30 000 ms; 0 turns it off. */
  readonly intervalMs?: number;
  /** First retry delay after a failure, doubled per failure in a row. Default 1 000 ms. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay. Default 60 000 ms. */
  readonly backoffMaxMs?: number;
  /** Sync as soon as this tab becomes the leader. Default true. */
  readonly syncOnStart?: boolean;
  /**
   * Watch the remote and sync as soon as another device's change lands there (docs/live-sync.md:
   * a request the server holds open where it can, a cheap conditional poll elsewhere). Default
   * true; false leaves the other triggers only (start, local changes, focus, online, the interval).
   */
  readonly live?: boolean;
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
  for (const name of ['syncOnStart', 'live']) {
    if (s[name] !== undefined && typeof s[name] !== 'boolean') {
      throw new InvalidArgumentError(`schedule.${name}`, 'expected true or false.');
    }
  }
}

/** What the scheduler tells its host about the syncs it runs; each is optional. */
export interface SchedulerEvents<Result = SyncResult> {
  started?(): void;
  succeeded?(result: Result): void;
  failed?(error: unknown, retryInMs: number): void;
}

/**
 * Why the timer is armed: a sync something asked for (a change, focus, a follow-up), the sync the
 * interval makes while nothing else does, or a retry after a failure (which replaces any other).
 */
type TimerReason = 'asked' | 'interval' | 'retry';

/**
 * Decides when to sync: at once on start, on coming online and on another device's change; on a
 * local change at once after a quiet spell, else after a debounce; after a debounce on focus; on
 * an interval while idle; and after a failure with exponential backoff and full jitter in
 * [delay/2, delay]. Never two syncs at once: a trigger during a sync runs one more sync after it. Inactive (not the leader, or stopped), or paused by {@link SyncScheduler.offline}, it
 * only runs syncs asked for explicitly through {@link SyncScheduler.syncNow}.
 *
 * `Result` is what one sync returns (the engine's {@link SyncResult} by default).
 */
export class SyncScheduler<Result = SyncResult> {
  readonly #sync: () => Promise<Result>;
  readonly #events: SchedulerEvents<Result>;
  readonly #clock: Timers;
  readonly #debounceMs: number;
  readonly #intervalMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  readonly #syncOnStart: boolean;
  #active = false;
  #offline = false;
  #timer: unknown = null;
  #timerDue = Infinity;
  /** The armed timer serves a sync something asked for ({@link SyncScheduler.settled} waits for it). */
  #timerAsked = false;
  #running: Promise<Result> | null = null;
  /** The sync that {@link SyncScheduler.syncNow} calls made during the running one share, after it. */
  #next: Promise<Result> | null = null;
  #again = false;
  #failures = 0;
  /** Remote changes told during the sync under way: one more sync after it unless it saw them. */
  #remoteChanges: ((() => boolean) | undefined)[] = [];
  /** When the last local change was told (`clock.now()`): a change long after it syncs at once. */
  #lastChangedAt = -Infinity;

  constructor(
    sync: () => Promise<Result>,
    events: SchedulerEvents<Result>,
    schedule: SyncSchedule = {},
    clock: Timers = realTimers,
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
    if (this.#offline) return; // online() syncs
    if (this.#syncOnStart) this.#syncOrFollow();
    else this.#scheduleInterval();
  }

  /** Stops syncing on its own; a sync under way finishes. */
  stop(): void {
    this.#active = false;
    this.#cancelTimer();
  }

  /**
   * A local change: sync at once when no change came for a debounce's length (a lone write leaves
   * the device without waiting, so other devices see it sooner), else after the debounce, so the
   * rest of a burst shares one sync; or after the sync under way; not while backing off.
   */
  changed(): void {
    const now = this.#clock.now();
    const quiet = now - this.#lastChangedAt >= this.#debounceMs;
    this.#lastChangedAt = now;
    const idle = this.#active && !this.#offline && !this.#running && !this.#timerAsked;
    if (quiet && idle && this.#failures === 0) this.#run().catch(() => undefined);
    else this.#soon();
  }

  /** The app came back into focus (its data may be stale): sync after the debounce, as for a change. */
  focused(): void {
    this.#soon();
  }

  /**
   * The remote changed (a `RemoteWatcher` saw the chain move): sync now, or right after the sync
   * under way, unless backing off after a failure. No debounce: the change is already there.
   * `known`, asked now or once the sync under way succeeded, says whether the change is one the
   * last sync saw or made itself (a leader's own push moves what its watcher watches): then none.
   */
  remoteChanged(known?: () => boolean): void {
    if (!this.#active || this.#offline || this.#failures > 0) return;
    if (this.#running) this.#remoteChanges.push(known);
    else if (!known?.()) this.#run().catch(() => undefined); // reported through events.failed
  }

  /** The network came back: forget the backoff and sync now. */
  online(): void {
    this.#failures = 0;
    this.#offline = false;
    if (this.#active) this.#syncOrFollow();
  }

  /**
   * The network went away: no syncs of its own (timer, follow-up) until {@link SyncScheduler.online};
   * a sync under way finishes. Explicit {@link SyncScheduler.syncNow} calls still run.
   */
  offline(): void {
    this.#offline = true;
    this.#again = false;
    this.#cancelTimer();
  }

  /**
   * Runs a sync now, or after the one under way, and returns its result. The calls made while one
   * sync runs share the sync after it: each gets a sync that started after the call.
   */
  async syncNow(): Promise<Result> {
    if (!this.#running) return this.#run();
    this.#next ??= this.#afterRunning();
    return this.#next;
  }

  /**
   * Resolves once no sync runs or waits to run and no sync asked for waits on the timer (the
   * interval and retries after a failure do not count).
   */
  async settled(): Promise<void> {
    for (;;) {
      const busy = this.#next ?? this.#running;
      if (busy) await busy.catch(() => undefined);
      else if (this.#timerAsked)
        await sleep(Math.max(0, this.#timerDue - this.#clock.now()), undefined, this.#clock);
      else return;
    }
  }

  /** A sync after the debounce (unless backing off), or after the sync under way. */
  #soon(): void {
    if (!this.#active || this.#offline) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#failures > 0) return; // the backoff timer decides
    this.#schedule(this.#debounceMs, 'asked');
  }

  /** A sync now, or, while one runs, one more after it. */
  #syncOrFollow(): void {
    if (this.#running) this.#again = true;
    else this.#run().catch(() => undefined); // reported through events.failed
  }

  async #afterRunning(): Promise<Result> {
    while (this.#running) await this.#running.catch(() => undefined);
    this.#next = null;
    return this.#run();
  }

  #run(): Promise<Result> {
    this.#cancelTimer();
    this.#again = false;
    this.#remoteChanges = [];
    this.#events.started?.();
    const run = this.#sync();
    this.#running = run;
    run.then(
      (result) => {
        this.#running = null;
        this.#failures = 0;
        this.#events.succeeded?.(result);
        const remote = this.#remoteChanges.splice(0).some((known) => !known?.());
        if (remote)
          this.#syncOrFollow(); // a remote change is there already: no debounce
        else if (this.#again) this.#schedule(this.#debounceMs, 'asked');
        else this.#scheduleInterval();
      },
      (error: unknown) => {
        this.#running = null;
        this.#failures++;
        const delay = this.#backoffDelay();
        this.#events.failed?.(error, delay);
        this.#schedule(delay, 'retry');
      },
    );
    return run;
  }

  /** Exponential in the failures in a row, capped, with jitter so tabs of many users spread out. */
  #backoffDelay(): number {
    const exp = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(30, this.#failures - 1));
    return Math.round(exp / 2 + (exp / 2) * this.#clock.random());
  }

  #scheduleInterval(): void {
    if (this.#intervalMs > 0) this.#schedule(this.#intervalMs, 'interval');
  }

  /** Arms the timer `ms` from now; an earlier timer wins (and serves this sync too) unless this is a retry. */
  #schedule(ms: number, reason: TimerReason): void {
    if (!this.#active || this.#offline) return;
    const due = this.#clock.now() + ms;
    if (this.#timer !== null && reason !== 'retry' && this.#timerDue <= due) {
      this.#timerAsked ||= reason === 'asked';
      return;
    }
    this.#cancelTimer();
    this.#timerDue = due;
    this.#timerAsked = reason === 'asked';
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.#timerDue = Infinity;
      this.#timerAsked = false;
      if (this.#active) this.#syncOrFollow();
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerDue = Infinity;
    this.#timerAsked = false;
  }
}
