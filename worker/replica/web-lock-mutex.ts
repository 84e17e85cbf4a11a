import { Mutex } from '../../src/sync/mutex.js';

/**
 * A {@link Mutex} shared by every tab and worker of the origin through a Web Lock: replicas of one
 * store in several tabs read-modify-write the same IndexedDB records (the state's `nextSeq`, the
 * base), so their sections must exclude each other, not only their own. Sections must not nest
 * (Web Locks are not reentrant); the replica's never do.
 */
export class WebLockMutex extends Mutex {
  readonly #name: string;

  constructor(name: string) {
    super();
    this.#name = `chainsync:replica-write:${name}`;
  }

  override run<T>(section: () => Promise<T>): Promise<T> {
    return navigator.locks.request(this.#name, { mode: 'exclusive' }, () => section()) as Promise<T>;
  }
}
