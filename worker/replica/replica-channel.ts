import type { ReplicaChangeEvent, ReplicaStatus, SyncProgress } from '../../src/contracts/replica.js';
import type { SerializedError } from '../../src/contracts/errors.js';
import type { PageState } from '../../src/core/remote-watcher.js';

/** Messages between the tabs (workers) of one replica. */
export type ChannelMessage =
  | ({ readonly kind: 'change' } & ReplicaChangeEvent<'local' | 'sync'>)
  | { readonly kind: 'status'; readonly status: ReplicaStatus }
  | { readonly kind: 'status-request' }
  | { readonly kind: 'progress'; readonly progress: SyncProgress }
  | { readonly kind: 'sync-request'; readonly id: string }
  | { readonly kind: 'synced'; readonly id: string; readonly error: SerializedError | null }
  /** A tab's page became visible, hidden, focused or not (or the tab closed: unseen). */
  | { readonly kind: 'page'; readonly tab: string; readonly state: PageState }
  /** A new leader asks every tab for its page state. */
  | { readonly kind: 'page-request' };

/** The BroadcastChannel of one store's replica: every other tab and worker that opened it hears. */
export class ReplicaChannel {
  readonly #channel: BroadcastChannel;
  #closed = false;

  constructor(storeName: string, receive: (message: ChannelMessage) => void) {
    this.#channel = new BroadcastChannel(`chainsync:replica:${storeName}`);
    this.#channel.onmessage = (event: MessageEvent<ChannelMessage>) => receive(event.data);
  }

  /**
   * Tells every other tab. Once closed, does nothing: a sync or count that finishes after the
   * replica closed has nobody left to tell (a closed BroadcastChannel would throw).
   */
  post(message: ChannelMessage): void {
    if (!this.#closed) this.#channel.postMessage(message);
  }

  close(): void {
    this.#closed = true;
    this.#channel.close();
  }
}
