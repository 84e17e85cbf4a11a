/**
 * Lets TanStack's `onlineManager` and `focusManager` drive the replica's sync: coming online syncs
 * at once, going offline pauses the periodic loop, focus and local writes ask for a sync (gathered
 * over a short debounce, so a burst of them costs one sync). At most one sync runs at a time;
 * requests that arrive meanwhile are folded into a single follow-up. The timing is the leader
 * tab's own {@link SyncScheduler}, fed by TanStack's managers instead of the worker's events.
 */
import {
  focusManager as defaultFocusManager,
  onlineManager as defaultOnlineManager,
} from '@tanstack/query-core';
import { InvalidArgumentError } from '../contracts/errors.js';
import { SyncScheduler } from '../core/sync-scheduler.js';
import { assertQueryableReplica } from './options.js';
import type { QueryableReplica } from './replica.js';

/** The part of TanStack's `onlineManager` the driver uses. */
export interface OnlineSource {
  isOnline(): boolean;
  subscribe(listener: (online: boolean) => void): () => void;
}

/** The part of TanStack's `focusManager` the driver uses. */
export interface FocusSource {
  subscribe(listener: (focused: boolean) => void): () => void;
}

/** Options of {@link driveSync}. */
export interface SyncDriverOptions {
  /** Default: TanStack's `onlineManager` singleton (the one QueryClient uses). */
  readonly onlineManager?: OnlineSource;
  /** Default: TanStack's `focusManager` singleton. */
  readonly focusManager?: FocusSource;
  /** Sync this often while online (counted from the last sync), in ms (default 30 000); `false` for no periodic sync. */
  readonly intervalMs?: number | false;
  /** How long focus and local-write requests are gathered into one sync, in ms (default 250). */
  readonly debounceMs?: number;
  /** Sync when this tab writes (default true). */
  readonly syncOnLocalChange?: boolean;
  /** Sync at once when started online (default true). */
  readonly syncOnStart?: boolean;
  /** Called with each failed sync's error (default: `console.warn`). The next trigger retries. */
  readonly onError?: (error: unknown) => void;
}

/** A running driver; see {@link driveSync}. */
export interface SyncDriver {
  /** Syncs now (joining the one in flight, then one more), unless offline. */
  syncNow(): Promise<void>;
  /** Resolves once no sync runs and none is scheduled by a debounce. */
  settled(): Promise<void>;
  /** Stops driving: no new syncs start (one in flight finishes). Calling it again is harmless. */
  stop(): void;
}

/**
 * Drives `replica.sync()` from TanStack's online and focus state.
 *
 * @example
 * ```ts
 * const driver = driveSync(replica); // later: driver.stop()
 * ```
 */
export function driveSync(replica: QueryableReplica, options: SyncDriverOptions = {}): SyncDriver {
  assertQueryableReplica(replica);
  const online = options.onlineManager ?? defaultOnlineManager;
  const focus = options.focusManager ?? defaultFocusManager;
  const intervalMs = options.intervalMs ?? 30_000;
  const debounceMs = options.debounceMs ?? 250;
  if (intervalMs !== false && !(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new InvalidArgumentError(
      'options.intervalMs',
      'expected a positive number of milliseconds, or false.',
    );
  }
  if (!(Number.isFinite(debounceMs) && debounceMs >= 0)) {
    throw new InvalidArgumentError('options.debounceMs', 'expected a number of milliseconds >= 0.');
  }
  for (const source of [online, focus]) {
    if (typeof source?.subscribe !== 'function') {
      throw new InvalidArgumentError('options', 'onlineManager and focusManager must have subscribe().');
    }
  }
  const onError = options.onError ?? ((error) => console.warn('chainsync/query: sync failed', error));

  let stopped = false;
  const scheduler = new SyncScheduler<void>(
    async () => {
      // Nothing syncs while offline or once stopped, not even a syncNow() that waited for a sync.
      if (stopped || !online.isOnline()) return;
      try {
        await replica.sync();
      } catch (error) {
        try {
          onError(error);
        } catch {
          // a throwing error handler must not stop the driving
        }
      }
    },
    // A failure is reported above and is no failure to the scheduler: it does not back off, the
    // next trigger retries.
    {},
    {
      debounceMs,
      intervalMs: intervalMs === false ? 0 : intervalMs,
      syncOnStart: options.syncOnStart !== false,
    },
  );

  const unsubscribes = [
    online.subscribe((isOnline) => (isOnline ? scheduler.online() : scheduler.offline())),
    focus.subscribe((focused) => {
      if (focused) scheduler.focused();
    }),
    replica.subscribe((event) => {
      if (event.source === 'local' && options.syncOnLocalChange !== false) scheduler.changed();
    }),
  ];

  if (!online.isOnline()) scheduler.offline();
  scheduler.start();

  return {
    syncNow: () => scheduler.syncNow(),
    settled: () => scheduler.settled(),
    stop() {
      if (stopped) return;
      stopped = true;
      scheduler.stop();
      for (const unsubscribe of unsubscribes) unsubscribe();
    },
  };
}
