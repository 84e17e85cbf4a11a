import type { Unsubscribe } from '../../src/contracts/common.js';
import { Subscribable } from '../../src/core/subscribable.js';
import type { KvChangeFeed } from '../idb/idb-cas-kv.js';

/** Longest delay before other tabs hear of a change: well under a frame. */
const FLUSH_MS = 8;

/**
 * A {@link KvChangeFeed} over a BroadcastChannel named after the store: every other tab and worker
 * of the origin that opened the same store receives each batch of changes as one message.
 */
export class BroadcastKvChangeFeed implements KvChangeFeed {
  readonly #channel: BroadcastChannel;
  readonly #receivers = new Subscribable<readonly string[]>('chainsync: a change-feed receiver threw');
  #outbox = new Set<string>();
  #flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(storeName: string) {
    this.#channel = new BroadcastChannel(`chainsync:kv:${storeName}`);
    this.#channel.onmessage = (event: MessageEvent<readonly string[]>) => this.#receivers.notify(event.data);
  }

  /**
   * Queues `keys` and sends everything queued within {@link FLUSH_MS} in one message: the writer's
   * reply is not held up by the broadcast (a BroadcastChannel message costs about as much as an
   * IndexedDB commit), and a stream of writes costs one message per window.
   */
  publish(keys: Iterable<string>): void {
    for (const key of keys) {
      // Move a rewritten key to the end: the message lists keys in the order of their last write.
      this.#outbox.delete(key);
      this.#outbox.add(key);
    }
    if (this.#outbox.size > 0) this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  #flush(): void {
    this.#flushTimer = null;
    const keys = [...this.#outbox];
    this.#outbox.clear();
    if (keys.length > 0) this.#channel.postMessage(keys);
  }

  subscribe(receiver: (keys: readonly string[]) => void): Unsubscribe {
    return this.#receivers.subscribe(receiver);
  }

  close(): void {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flush();
    this.#receivers.clear();
    this.#channel.close();
  }
}
