/**
 * `RemoteWatcher`: notices that the chain moved on the remote between syncs (docs/live-sync.md).
 * It asks whether the chain's head changed since the version it last saw: on a server with the
 * change signal the request is held until it does, so it asks again at once; elsewhere the answer
 * comes at once and it asks again after an interval that depends on whether anyone looks.
 */
import type { ChangeCheck, ObjectVersion, ReadIfChangedOptions } from '../contracts/remote-backend.js';
import { InvalidArgumentError } from '../contracts/errors.js';
import { MAX_WAIT_SECONDS } from './http-semantics.js';
import { realTimers, type Timers } from './timers.js';

/**
 * A check that fails after standing this long was cut, not refused: the server was reachable.
 * Shorter than any idle cut worth adapting to (common proxies cut at 30-60 s, some at 5 s).
 */
const CUT_AFTER_MS = 2_000;

/** Full holds in a row after which holds shortened by a cut are lengthened again. */
const HOLDS_BEFORE_LONGER = 10;

/** Asks whether the head is at another version than `since` (`null`: absent, or nothing seen yet). */
export type HeadCheck = (since: ObjectVersion | null, options: ReadIfChangedOptions) => Promise<ChangeCheck>;

/** Whether anyone looks at the app: the poll interval follows it. */
export interface PageState {
  readonly visible: boolean;
  readonly focused: boolean;
}

/** How often the watcher polls a server without the change signal, in ms. */
export interface PollIntervals {
  /** The page is visible and focused. Default 5 000 (12 requests a minute). */
  readonly focusedMs?: number;
  /** Visible, not focused. Default 15 000 (4 a minute). */
  readonly visibleMs?: number;
  /** Hidden. Default 60 000 (1 a minute). */
  readonly hiddenMs?: number;
}

/** Options of {@link RemoteWatcher}. */
export interface RemoteWatcherOptions {
  /** The head's conditional read (`readIfChanged` of the chain's pointer). */
  readonly check: HeadCheck;
  /**
   * Called when the head changed (and, see `changeOnStart`, at the first answer) with its version
   * now (`null`: absent): the owner syncs, unless that version is one its own sync left.
   */
  readonly onChange: (version: ObjectVersion | null) => void;
  /**
   * Call `onChange` at the first answer after each start too: the watcher cannot know what the
   * last sync saw, so a change landed in between would wait for the next one. Default true; false
   * when the owner does not sync at start either (the application syncs first, by hand).
   */
  readonly changeOnStart?: boolean;
  /** Seconds a server with the signal may hold one request. Default 20. */
  readonly waitSeconds?: number;
  readonly intervals?: PollIntervals;
  /** First delay after a failed check, doubled per failure in a row (with jitter). Default 1 000. */
  readonly backoffBaseMs?: number;
  /** Longest delay after failures. Default 60 000. */
  readonly backoffMaxMs?: number;
  readonly timers?: Timers;
  /** Told each failed check (the watcher retries on its own). */
  readonly onError?: (error: unknown) => void;
  /** Told each time {@link RemoteWatcher.transport} changes (the owner shows it in its status). */
  readonly onTransport?: (transport: WatchTransport) => void;
}

/** How the watcher learns of changes right now. */
export type WatchTransport = 'signal' | 'polling' | 'offline' | 'stopped';

/**
 * Watches the chain's head for its owner (the leader tab's replica), which syncs when told. Stopped
 * until {@link RemoteWatcher.start}; paused {@link RemoteWatcher.offline}; checks at once when the
 * page becomes visible or focused and when the network comes back. Never two checks at once.
 */
export class RemoteWatcher {
  readonly #check: HeadCheck;
  readonly #onChange: (version: ObjectVersion | null) => void;
  readonly #changeOnStart: boolean;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #onTransport: ((transport: WatchTransport) => void) | undefined;
  /** The transport last told to `onTransport`. */
  #told: WatchTransport = 'stopped';
  readonly #timers: Timers;
  /** The hold asked for (`options.waitSeconds`), and the one asked now (shorter after cuts). */
  readonly #maxWaitSeconds: number;
  #waitSeconds: number;
  /** Full holds in a row since the last cut: after {@link HOLDS_BEFORE_LONGER}, try longer ones. */
  #fullHolds = 0;
  readonly #intervals: Required<PollIntervals>;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;
  #active = false;
  #offline = false;
  #page: PageState = { visible: true, focused: true };
  /** The head's version at the last answer; `undefined` until the first answer since start. */
  #version: ObjectVersion | null | undefined = undefined;
  #inFlight: AbortController | null = null;
  #timer: unknown = null;
  #failures = 0;
  #held = false;
  /** When the check under way was sent (`timers.now()`). */
  #sentAt = 0;

  constructor(options: RemoteWatcherOptions) {
    if (typeof options?.check !== 'function' || typeof options.onChange !== 'function') {
      throw new InvalidArgumentError('options', 'expected { check, onChange } functions.');
    }
    this.#check = options.check;
    this.#onChange = options.onChange;
    this.#changeOnStart = options.changeOnStart ?? true;
    this.#onError = options.onError;
    if (options.onTransport !== undefined && typeof options.onTransport !== 'function') {
      throw new InvalidArgumentError('options.onTransport', 'expected a function (transport) => void.');
    }
    this.#onTransport = options.onTransport;
    this.#timers = options.timers ?? realTimers;
    this.#waitSeconds = this.#maxWaitSeconds = count(options.waitSeconds, 'options.waitSeconds', 20);
    if (this.#waitSeconds > MAX_WAIT_SECONDS) {
      throw new InvalidArgumentError('options.waitSeconds', `expected at most ${MAX_WAIT_SECONDS} seconds.`);
    }
    const intervals = options.intervals ?? {};
    this.#intervals = {
      focusedMs: count(intervals.focusedMs, 'options.intervals.focusedMs', 5_000),
      visibleMs: count(intervals.visibleMs, 'options.intervals.visibleMs', 15_000),
      hiddenMs: count(intervals.hiddenMs, 'options.intervals.hiddenMs', 60_000),
    };
    this.#backoffBaseMs = count(options.backoffBaseMs, 'options.backoffBaseMs', 1_000);
    this.#backoffMaxMs = count(options.backoffMaxMs, 'options.backoffMaxMs', 60_000);
  }

  /** How changes are learned now: a held request (`signal`), `polling`, `offline` or `stopped`. */
  get transport(): WatchTransport {
    if (!this.#active) return 'stopped';
    if (this.#offline) return 'offline';
    return this.#held ? 'signal' : 'polling';
  }

  /** Starts watching (this tab became the leader): checks at once. */
  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#version = undefined;
    this.#failures = 0;
    this.#checkNow();
    this.#tell();
  }

  /** Stops watching: the timer is cancelled and a request under way (a held one) is aborted. */
  stop(): void {
    this.#active = false;
    this.#cancel();
    this.#tell();
  }

  /** The page's visibility or focus changed: the interval follows; becoming looked at checks now. */
  page(state: PageState): void {
    const before = this.#page;
    this.#page = { visible: state.visible === true, focused: state.focused === true };
    const lookedAt = (!before.visible && this.#page.visible) || (!before.focused && this.#page.focused);
    if (lookedAt && this.#failures === 0) this.#checkNow();
  }

  /** The network came back: forget the backoff and check now. */
  online(): void {
    this.#offline = false;
    this.#failures = 0;
    this.#checkNow();
    this.#tell();
  }

  /** The network went away: no checks until {@link RemoteWatcher.online}. */
  offline(): void {
    this.#offline = true;
    this.#cancel();
    this.#tell();
  }

  /** A check now, unless one is under way (a held request answers a change as soon as it happens). */
  #checkNow(): void {
    if (!this.#active || this.#offline || this.#inFlight) return;
    this.#clearTimer();
    const controller = new AbortController();
    this.#inFlight = controller;
    this.#sentAt = this.#timers.now();
    const since = this.#version ?? null;
    this.#check(since, { waitSeconds: this.#waitSeconds, signal: controller.signal }).then(
      (answer) => this.#answered(controller, answer),
      (error: unknown) => this.#failed(controller, error),
    );
  }

  #answered(controller: AbortController, answer: ChangeCheck): void {
    if (this.#inFlight !== controller) return; // stopped or paused meanwhile
    this.#inFlight = null;
    const first = this.#version === undefined;
    this.#version = answer.version;
    this.#failures = 0;
    this.#held = answer.held;
    this.#lengthenHolds(answer);
    // A first answer compares with nothing the owner saw: `changed` says nothing then.
    if (first ? this.#changeOnStart : answer.changed) this.#onChange(answer.version);
    if (answer.held) this.#checkNow();
    else this.#arm(this.#pollMs());
    this.#tell();
  }

  /**
   * Holds shortened by cuts grow back (doubling, up to the asked-for wait) after a run of full ones:
   * a cut may have been a one-off (a server restart), and short holds cost requests.
   */
  #lengthenHolds(answer: ChangeCheck): void {
    if (this.#waitSeconds >= this.#maxWaitSeconds) return;
    const full =
      answer.held && !answer.changed && this.#timers.now() - this.#sentAt >= this.#waitSeconds * 1000;
    this.#fullHolds = full ? this.#fullHolds + 1 : 0;
    if (this.#fullHolds < HOLDS_BEFORE_LONGER) return;
    this.#fullHolds = 0;
    this.#waitSeconds = Math.min(this.#maxWaitSeconds, this.#waitSeconds * 2);
  }

  #failed(controller: AbortController, error: unknown): void {
    if (this.#inFlight !== controller) return;
    this.#inFlight = null;
    const heldMs = this.#timers.now() - this.#sentAt;
    if (heldMs >= CUT_AFTER_MS) {
      // The connection was up for a while, then cut: a proxy or load balancer that closes idle
      // connections, not an outage. Ask for shorter holds, under the time it stood, and retry soon:
      // backing off further at each cut would quietly turn live sync into the interval sync.
      this.#waitSeconds = Math.min(this.#waitSeconds, Math.max(1, Math.floor(heldMs / 1000) - 1));
      this.#fullHolds = 0;
      this.#failures = 1;
    } else {
      this.#failures++;
    }
    this.#held = false;
    this.#onError?.(error);
    // Re-armed with the last version seen: a change made meanwhile is answered at once.
    const exp = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** Math.min(30, this.#failures - 1));
    this.#arm(Math.round(exp / 2 + (exp / 2) * this.#timers.random()));
    this.#tell();
  }

  /** Tells the owner the transport, when it changed since last told. */
  #tell(): void {
    const transport = this.transport;
    if (transport === this.#told) return;
    this.#told = transport;
    this.#onTransport?.(transport);
  }

  #pollMs(): number {
    if (!this.#page.visible) return this.#intervals.hiddenMs;
    return this.#page.focused ? this.#intervals.focusedMs : this.#intervals.visibleMs;
  }

  #arm(ms: number): void {
    if (!this.#active || this.#offline) return;
    this.#clearTimer();
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      this.#checkNow();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #cancel(): void {
    this.#clearTimer();
    this.#inFlight?.abort();
    this.#inFlight = null;
    this.#held = false;
  }
}

function count(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidArgumentError(name, 'expected a whole number, 0 or more.');
  }
  return value as number;
}
