import type { KvChange } from '../../src/contracts/cas-kv.js';
import type { Unsubscribe } from '../../src/contracts/common.js';

/** Carries committed CasKv changes between the instances (tabs, workers) of one store. */
export interface KvChangeFeed {
  /** Tells the other instances about changes this one committed, in commit order. */
  publish(changes: readonly KvChange[]): void;
  /** Receives changes the other instances committed. */
  subscribe(receiver: (changes: readonly KvChange[]) => void): Unsubscribe;
  close(): void;
}

/**
 * A {@link KvChangeFeed} over a BroadcastChannel named after the store: every other tab and worker
 * of the origin that opened the same store receives each batch of changes as one message.
 */
export class BroadcastKvChangeFeed implements KvChangeFeed {
  readonly #channel: BroadcastChannel;
  readonly #receivers = new Set<(changes: readonly KvChange[]) => void>();

  constructor(storeName: string) {
    this.#channel = new BroadcastChannel(`chainsync:kv:${storeName}`);
    this.#channel.onmessage = (event: MessageEvent<readonly KvChange[]>) => {
      for (const receiver of this.#receivers) receiver(event.data);
    };
  }

  publish(changes: readonly KvChange[]): void {
    if (changes.length > 0) this.#channel.postMessage(changes);
  }

  subscribe(receiver: (changes: readonly KvChange[]) => void): Unsubscribe {
    this.#receivers.add(receiver);
    return () => this.#receivers.delete(receiver);
  }

  close(): void {
    this.#receivers.clear();
    this.#channel.close();
  }
}
