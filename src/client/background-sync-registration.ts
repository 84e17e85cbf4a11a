import type { ReplicaStatus } from '../contracts/replica.js';
import { backgroundSyncTag } from '../../worker/replica/background-sync.js';

/** The part of `ServiceWorkerRegistration` Background Sync adds (Chromium only; not in the DOM lib). */
interface SyncRegistration {
  readonly sync?: { register(tag: string): Promise<void> };
}

/**
 * For `openReplica({ backgroundSync: true })`: returns a status listener that registers the
 * store's Background Sync (`chainsync/sw` answers it) when edits are pending and the network is
 * gone (the browser says it is offline, or the last sync got no answer: a RemoteError's `network`).
 * Once per such spell: a sync that succeeds, or a queue emptied, arms it again. Where the page has
 * no service worker or the browser no Background Sync, it does nothing: the next open syncs.
 */
export function backgroundSyncRegistration(name: string): (status: ReplicaStatus) => void {
  let registered = false;
  let warned = false;
  return (status) => {
    const stranded = status.pending > 0 && (!status.online || status.lastError?.fields?.network === true);
    if (!stranded) {
      if (status.pending === 0 || status.lastError === null) registered = false;
      return;
    }
    if (registered) return;
    registered = true;
    register(backgroundSyncTag(name)).catch((error: unknown) => {
      registered = false;
      if (warned) return;
      warned = true;
      console.warn(
        `chainsync: the background sync of "${name}" was not registered; the next open syncs.`,
        error,
      );
    });
  };
}

async function register(tag: string): Promise<void> {
  const container = globalThis.navigator?.serviceWorker;
  if (!container) return;
  const registration = (await container.getRegistration()) as SyncRegistration | undefined;
  await registration?.sync?.register(tag);
}
