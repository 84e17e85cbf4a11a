import type { BatchCasKv, KvOp, KvOpResult } from '../contracts/cas-kv.js';
import { proxy } from 'comlink';
import type { KvChange, KvEntry, KvItem, KvWatcher, VersionToken } from '../contracts/cas-kv.js';
import type { Unsubscribe } from '../contracts/common.js';
import { KvWatchHub } from '../core/kv-watch.js';
import { assertPrefix } from '../core/validate.js';
import type { WorkerLink } from './worker-link.js';

/**
 * The store's CasKv, seen from the main thread. Writes and reads are one worker call each (a
 * batch is one call and one transaction); `watch` runs on this side, fed by one subscription
 * to the worker that carries this tab's, other tabs' and sync's changes.
 */
export class ClientCasKv implements BatchCasKv {
  readonly #link: WorkerLink;
  readonly #hub = new KvWatchHub();
  #subscribed: Promise<void> | null = null;

  constructor(link: WorkerLink) {
    this.#link = link;
  }

  get(key: string): Promise<KvEntry | null> {
    return this.#link.call((r) => r.kv.get(key));
  }

  entry(key: string): Promise<KvEntry | null> {
    return this.#link.call((r) => r.kv.entry(key));
  }

  keys(prefix?: string): Promise<string[]> {
    return this.#link.call((r) => r.kv.keys(prefix));
  }

  scan(prefix?: string): Promise<KvItem[]> {
    return this.#link.call((r) => r.kv.scan(prefix));
  }

  async watch(prefix: string, watcher: KvWatcher): Promise<Unsubscribe> {
    assertPrefix(prefix);
    await this.#subscribe();
    return this.#hub.watch(prefix, watcher, (p) => this.scan(p));
  }

  put(key: string, value: Uint8Array): Promise<VersionToken> {
    return this.#link.call((r) => r.kv.put(key, value));
  }

  create(key: string, value: Uint8Array): Promise<VersionToken> {
    return this.#link.call((r) => r.kv.create(key, value));
  }

  update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken> {
    return this.#link.call((r) => r.kv.update(key, value, expected));
  }

  delete(key: string): Promise<boolean> {
    return this.#link.call((r) => r.kv.delete(key));
  }

  deleteWithVersion(key: string, expected: VersionToken): Promise<boolean> {
    return this.#link.call((r) => r.kv.deleteWithVersion(key, expected));
  }

  /** Many writes in one message and one IndexedDB transaction: all commit, or none. */
  batch(ops: readonly KvOp[]): Promise<KvOpResult[]> {
    return this.#link.call((r) => r.kv.batch(ops));
  }

  #subscribe(): Promise<void> {
    if (!this.#subscribed) {
      const receive = (changes: readonly KvChange[]) => {
        for (const change of changes) this.#hub.emit(change);
      };
      this.#subscribed = this.#link.call((r) => r.subscribeKv(proxy(receive)));
      this.#subscribed.catch(() => (this.#subscribed = null));
    }
    return this.#subscribed;
  }
}
