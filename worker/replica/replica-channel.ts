import type { SerializedError } from '../../src/contracts/errors.js';
import type { ObjectRef, Operation } from '../../src/sync/operations.js';
import type { SyncProgress } from './progress-storage.js';

/** Where a change came from, as seen by the tab receiving it. */
export type ChangeSource = 'local' | 'tab' | 'sync';

/** The sync status every tab of a replica can observe. */
export interface ReplicaStatus {
  /** The browser believes it is online (`navigator.onLine`, updated by `online`/`offline` events). */
  readonly online: boolean;
  /** The leader tab is syncing now. */
  readonly syncing: boolean;
  /** Local operations not yet pushed (the queue is shared by every tab of the store). */
  readonly pending: number;
  /** Why the last sync failed, or `null` when it succeeded (or none ran yet). */
  readonly lastError: SerializedError | null;
  /** When the last sync succeeded (ms since the epoch), or `null`. */
  readonly lastSyncAt: number | null;
  /** The versions the last successful sync added to the chain for this store, in chain order. */
  readonly lastPushed: readonly string[];
  /** This tab is the one that syncs. */
  readonly leader: boolean;
}

/** What a replica tells its main thread. */
export type ReplicaEvent =
  | {
      readonly type: 'change';
      readonly source: ChangeSource;
      /** The objects whose data changed, or `'all'` after a snapshot replaced the data set. */
      readonly objects: readonly ObjectRef[] | 'all';
      /** Local operations that lost a conflict and were discarded (pulled changes only). */
      readonly dropped: readonly Operation[];
      /**
       * Other replicas' operations that a local operation beat, in chain order (pulled changes
       * only): the conflicts this replica won.
       */
      readonly overridden: readonly Operation[];
    }
  | { readonly type: 'status'; readonly status: ReplicaStatus }
  | { readonly type: 'progress'; readonly progress: SyncProgress };

/** Messages between the tabs (workers) of one replica. */
export type ChannelMessage =
  | {
      readonly kind: 'change';
      readonly source: 'local' | 'sync';
      readonly objects: readonly ObjectRef[] | 'all';
      readonly dropped: readonly Operation[];
      readonly overridden: readonly Operation[];
    }
  | { readonly kind: 'status'; readonly status: ReplicaStatus }
  | { readonly kind: 'status-request' }
  | { readonly kind: 'progress'; readonly progress: SyncProgress }
  | { readonly kind: 'sync-request'; readonly id: string }
  | { readonly kind: 'synced'; readonly id: string; readonly error: SerializedError | null };

/** The BroadcastChannel of one store's replica: every other tab and worker that opened it hears. */
export class ReplicaChannel {
  readonly #channel: BroadcastChannel;

  constructor(storeName: string, receive: (message: ChannelMessage) => void) {
    this.#channel = new BroadcastChannel(`chainsync:replica:${storeName}`);
    this.#channel.onmessage = (event: MessageEvent<ChannelMessage>) => receive(event.data);
  }

  post(message: ChannelMessage): void {
    this.#channel.postMessage(message);
  }

  close(): void {
    this.#channel.close();
  }
}
