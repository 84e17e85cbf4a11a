import type { ReplicaChangeEvent, ReplicaEvent, SyncProgress } from '../../src/contracts/replica.js';
import type { SyncScheduler } from '../../src/core/sync-scheduler.js';
import type { ChannelMessage, ReplicaChannel } from './replica-channel.js';
import type { StatusAggregator } from './status-aggregator.js';

/** What an {@link EventRelay} passes events on to. */
export interface RelayTargets {
  readonly channel: ReplicaChannel;
  /** Tells the main thread. */
  emit(event: ReplicaEvent): void;
  isLeader(): boolean;
  /** This tab's scheduler; `null` when it was opened without a remote. */
  readonly scheduler: SyncScheduler | null;
  /** Counts the shared queue again after each change. */
  readonly status: StatusAggregator;
}

/**
 * Passes the replica's changes and sync progress on: this tab's to its main thread and to the
 * other tabs, the other tabs' to this tab's main thread. A local write, here or in another tab,
 * asks the leader's scheduler for a sync; every change may change the shared pending count.
 */
export class EventRelay {
  readonly #to: RelayTargets;

  constructor(targets: RelayTargets) {
    this.#to = targets;
  }

  /** This tab's replica changed (a local write, or a sync this tab ran). */
  replicaChanged(event: ReplicaChangeEvent<'local' | 'sync'>): void {
    const { source, objects, dropped, overridden } = event;
    this.#to.emit({ type: 'change', source, objects, dropped, overridden });
    this.#to.channel.post({ kind: 'change', source, objects, dropped, overridden });
    if (source === 'local') this.#to.scheduler?.changed();
    void this.#to.status.refreshPending();
    // Throttled and not awaited: the write has answered already.
    this.#to.status.storageMayHaveChanged();
  }

  /** Another tab's replica changed: to this tab, its local write is a `tab` change. */
  tabChanged(message: Extract<ChannelMessage, { kind: 'change' }>): void {
    this.#to.emit({
      type: 'change',
      source: message.source === 'local' ? 'tab' : 'sync',
      objects: message.objects,
      dropped: message.dropped,
      // A tab running an older build posts no `overridden`.
      overridden: message.overridden ?? [],
    });
    if (message.source === 'local' && this.#to.isLeader()) this.#to.scheduler?.changed();
    void this.#to.status.refreshPending();
    this.#to.status.storageMayHaveChanged();
  }

  /** This tab's sync made progress. */
  progress(progress: SyncProgress): void {
    this.#to.emit({ type: 'progress', progress });
    this.#to.channel.post({ kind: 'progress', progress });
  }

  /** The leader's sync made progress (the leader itself heard it from its own sync already). */
  leaderProgress(progress: SyncProgress): void {
    if (!this.#to.isLeader()) this.#to.emit({ type: 'progress', progress });
  }
}
