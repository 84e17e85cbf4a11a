import type { KvChange, KvItem, KvWatcher, VersionToken } from '../contracts/cas-kv.js';
import type { Unsubscribe } from '../contracts/common.js';
import { assertListener, assertPrefix } from './validate.js';

/**
 * The change a CasKv write of `value` makes: an empty value is seed 001's logical delete, so
 * watchers see it as a delete carrying its version, whichever call wrote it (`put`, `create`,
 * `update` or `deleteWithVersion`).
 */
export function changeOfWrite(key: string, value: Uint8Array, version: VersionToken): KvChange {
  return value.length === 0 ? { type: 'delete', key, version } : { type: 'put', key, value, version };
}

/**
 * Fan-out of CasKv changes to watchers, with the watch contract's "list first, then live changes"
 * made race-free: changes that arrive while the initial listing is read are held back and only
 * those the listing did not already show are delivered after it.
 */
export class KvWatchHub {
  readonly #watchers = new Set<{ prefix: string; deliver: (change: KvChange) => void }>();

  /** Delivers `change` to every watcher whose prefix matches. A throwing watcher does not stop the others. */
  emit(change: KvChange): void {
    for (const w of this.#watchers) {
      if (change.key.startsWith(w.prefix)) w.deliver(change);
    }
  }

  /** Number of active watchers (lets an implementation skip work when nobody listens). */
  get size(): number {
    return this.#watchers.size;
  }

  /**
   * Registers `watcher`, lists the current values through `scan`, then goes live. Checks both
   * arguments first, for every CasKv: a watcher that is not a function would otherwise fail only
   * when the first change arrives, far from the call that passed it.
   * @throws InvalidArgumentError for a bad prefix or a watcher that is not a function.
   */
  async watch(
    prefix: string,
    watcher: KvWatcher,
    scan: (prefix: string) => Promise<KvItem[]>,
  ): Promise<Unsubscribe> {
    assertPrefix(prefix);
    assertListener(watcher, 'watcher');
    let pending: KvChange[] | null = [];
    let active = true;
    // The last change delivered per key: one that repeats it (the listing already showed it, or
    // another tab's change feed announces it late) is dropped, so every delivery is news.
    const delivered = new Map<string, string>();
    const call = (change: KvChange) => {
      if (!active) return;
      const mark = `${change.type}:${change.version ?? ''}`;
      if (delivered.get(change.key) === mark) return;
      delivered.set(change.key, mark);
      try {
        watcher(change);
      } catch (error) {
        console.error('chainsync: a watch callback threw', error);
      }
    };
    const entry = {
      prefix,
      deliver: (change: KvChange) => (pending ? pending.push(change) : call(change)),
    };
    this.#watchers.add(entry);
    const unsubscribe = () => {
      active = false;
      this.#watchers.delete(entry);
    };
    try {
      const items = await scan(prefix);
      const listed = new Map<string, string>();
      for (const item of items) {
        listed.set(item.key, item.version);
        call({ type: 'put', key: item.key, value: item.value, version: item.version });
      }
      const held = pending;
      pending = null;
      for (const change of held) {
        if (change.type === 'put' && listed.get(change.key) === change.version) continue;
        call(change);
      }
    } catch (error) {
      unsubscribe();
      throw error;
    }
    return unsubscribe;
  }
}
