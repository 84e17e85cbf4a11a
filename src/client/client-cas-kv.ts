import type { BatchCasKv, KvOp, KvOpResult } from '../contracts/cas-kv.js';
import { proxy } from 'comlink';
import type { KvChange, KvEntry, KvItem, KvWatcher, VersionToken } from '../contracts/cas-kv.js';
import type { Unsubscribe } from '../contracts/common.js';
import { KvWatchHub } from '../core/kv-watch.js';
import { assertBytes, assertKvOps } from '../core/validate.js';
import type { WorkerLink } from './worker-link.js';

/**
 * The store's CasKv, seen from the main thread. Writes and reads are one worker call each (a
 * batch is one call and one transaction); `watch` runs on this side, fed by one subscription
 * to the worker that carries this tab's, other tabs' and sync's changes. Bytes are checked here,
 * before they cross: structured clone would turn a detached or fake array into a DataCloneError
 * or an empty object, losing what was wrong with it; the worker checks everything again.
 */
export class ClientCasKv implements BatchCasKv {
  readonly #link: WorkerLink;
  readonly #hub = new KvWatchHub();
  #subscribed: Promise<void> | null = null;

  constructor(link: WorkerLink) {
    this.#link = link;
  }

  get(key: string): Promise<KvEntry | null> {
    return this.#link.request('kv', 'get', key);
  }

  entry(key: string): Promise<KvEntry | null> {
    return this.#link.request('kv', 'entry', key);
  }

  keys(prefix?: string): Promise<string[]> {
    return this.#link.request('kv', 'keys', prefix);
  }

  scan(prefix?: string): Promise<KvItem[]> {
    return this.#link.request('kv', 'scan', prefix);
  }

  async watch(prefix: string, watcher: KvWatcher): Promise<Unsubscribe> {
    // The hub checks the arguments before anything else; the subscription to the worker starts
    // before the listing is read, so a change committed meanwhile is held back, then delivered.
    return this.#hub.watch(prefix, watcher, async (p) => {
      await this.#subscribe();
      return this.scan(p);
    });
  }

  put(key: string, value: Uint8Array): Promise<VersionToken> {
    return checked(() => assertBytes(value, 'value')) ?? this.#link.request('kv', 'put', key, value);
  }

  create(key: string, value: Uint8Array): Promise<VersionToken> {
    return checked(() => assertBytes(value, 'value')) ?? this.#link.request('kv', 'create', key, value);
  }

  update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken> {
    return (
      checked(() => assertBytes(value, 'value')) ?? this.#link.request('kv', 'update', key, value, expected)
    );
  }

  delete(key: string): Promise<boolean> {
    return this.#link.request('kv', 'delete', key);
  }

  deleteWithVersion(key: string, expected: VersionToken): Promise<boolean> {
    return this.#link.request('kv', 'deleteWithVersion', key, expected);
  }

  /** Many writes in one message and one IndexedDB transaction: all commit, or none. */
  batch(ops: readonly KvOp[]): Promise<KvOpResult[]> {
    return checked(() => assertKvOps(ops)) ?? this.#link.request('kv', 'batch', ops);
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

/**
 * Runs a check: its error as a rejected promise, or undefined if it passed. The write methods are
 * not `async`: an async function returning the request's promise adds three microtask hops to
 * every write (issue 13 part 1: a single put's latency).
 */
function checked(check: () => void): Promise<never> | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}
