/**
 * Lets the sync suite (sync.test.ts, replica.test.ts) run again over a real remote: a rerunning
 * file replaces the MemoryStorage those suites construct with {@link SlotRemoteStorage}, a
 * RemoteStorage on the backend the file connected in `beforeAll`, under a fresh prefix per store,
 * so every case gets its own chain on the one server. Test support only, not public API.
 */
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { RemoteStorage } from '../remote/remote-storage.js';

/** The backend the rerunning file connected; set in its `beforeAll`. */
export const remoteSlot: { backend: AtomicRemoteBackend | null; stores: number; run: string } = {
  backend: null,
  stores: 0,
  run: crypto.randomUUID().slice(0, 8),
};

/** A RemoteStorage on {@link remoteSlot}'s backend, constructed like MemoryStorage (no arguments). */
export class SlotRemoteStorage extends RemoteStorage {
  constructor() {
    if (!remoteSlot.backend)
      throw new Error('remote sync suite: no backend connected (beforeAll did not run)');
    super(remoteSlot.backend, { prefix: `sync-suite-${remoteSlot.run}/${++remoteSlot.stores}` });
  }
}
