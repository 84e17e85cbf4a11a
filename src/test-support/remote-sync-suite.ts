/**
 * Lets the sync suite (sync.test.ts, crypto.test.ts, replica.test.ts) run again over a real
 * remote: a rerunning file replaces the MemoryStorage those suites construct with
 * {@link SlotRemoteStorage}, and the controllable chains they open ({@link controlledChains}) with
 * a {@link RemoteControlledStorage}, each a RemoteStorage on the backend the file connected in
 * `beforeAll`, under a fresh prefix per store, so every case gets its own chain on the one server.
 * Test support only, not public API.
 */
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { RemoteStorage } from '../remote/remote-storage.js';
import { RemoteControlledStorage } from './remote-controlled-storage.js';
import { controlledChains } from './controlled-storage.js';

/** The backend the rerunning file connected; set in its `beforeAll`. */
export const remoteSlot: {
  backend: AtomicRemoteBackend | null;
  stores: number;
  controlled: number;
  run: string;
} = {
  backend: null,
  stores: 0,
  controlled: 0,
  run: crypto.randomUUID().slice(0, 8),
};

function slotBackend(): AtomicRemoteBackend {
  if (!remoteSlot.backend) throw new Error('remote sync suite: no backend connected (beforeAll did not run)');
  return remoteSlot.backend;
}

function nextPrefix(): string {
  return `sync-suite-${remoteSlot.run}/${++remoteSlot.stores}`;
}

/** A RemoteStorage on {@link remoteSlot}'s backend, constructed like MemoryStorage (no arguments). */
export class SlotRemoteStorage extends RemoteStorage {
  constructor() {
    super(slotBackend(), { prefix: nextPrefix() });
  }
}

/**
 * Makes the suites' controllable chains live on {@link remoteSlot}'s backend (which must be able to
 * list: connect it with `list`).
 */
export function controlChainsOnRemote(): void {
  controlledChains.open = () => {
    const storage = new RemoteControlledStorage(slotBackend(), nextPrefix());
    remoteSlot.controlled++;
    return storage;
  };
}
