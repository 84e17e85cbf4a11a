/**
 * `chainsync/sw`: syncs replicas from the app's own service worker while no page is open, through
 * the browser's Background Sync. Opt in per replica with `openReplica({ backgroundSync: true })`:
 * when a sync fails for lack of network with edits pending, the page registers a sync, and the
 * browser fires the service worker's `sync` event once the network is back, even after every tab of
 * the app was closed. In the service worker:
 *
 * ```ts
 * import { handleBackgroundSync } from 'chainsync/sw';
 * self.addEventListener('sync', (event) => handleBackgroundSync(event));
 * ```
 *
 * The service worker runs the same engine as the page's worker, on the same IndexedDB database:
 * the in-flight record makes the push exactly once, encrypted data sets are sealed with the key a
 * page's sync derived (the secret is never stored), and the store's leader lock is shared with the
 * tabs, so a service worker never syncs at the same time as an open tab's leader (with a tab open,
 * that tab runs the sync). Where the browser has no Background Sync (Firefox and Safari today),
 * nothing is registered and nothing changes: the next page open syncs.
 * @module chainsync/sw
 */
import * as bearerFetch from '../src/remote/http/bearer-fetch.js';
import { bearerFetchPart } from '../src/remote/http/bearer-fetch-part.js';
import * as probe from '../src/remote/http/probe.js';
import { probePart } from '../src/remote/http/probe-part.js';
import * as s3Fetch from '../src/remote/http/s3-fetch.js';
import { s3FetchPart } from '../src/remote/http/s3-fetch-part.js';
import * as sealing from '../src/sync/sealing.js';
import { sealingPart } from '../src/sync/sealing-part.js';
import { Engine } from './engine.js';
import { storeDatabaseName } from './idb/index.js';
import { BACKGROUND_SYNC_TAG_PREFIX, backgroundSyncTag } from './replica/background-sync.js';
import type { ReplicaHost } from './replica/replica-host.js';

export { BACKGROUND_SYNC_TAG_PREFIX, backgroundSyncTag };

/** The parts of a service worker's `SyncEvent` used here (the DOM's TypeScript lib lacks it). */
export interface BackgroundSyncEvent {
  readonly tag: string;
  waitUntil(promise: Promise<unknown>): void;
}

/** What a background sync of one store did; see {@link syncInBackground}. */
export type BackgroundSyncOutcome = 'synced' | 'off' | 'no-key' | 'not-found';

/**
 * Answers a `sync` event if it is chainsync's (its tag starts with
 * {@link BACKGROUND_SYNC_TAG_PREFIX}): the event waits for the store's sync. A sync that fails
 * rejects the event's promise, so the browser tries again later. Returns whether the event was
 * chainsync's; other tags are left to the app.
 */
export function handleBackgroundSync(event: BackgroundSyncEvent): boolean {
  if (typeof event?.tag !== 'string' || !event.tag.startsWith(BACKGROUND_SYNC_TAG_PREFIX)) return false;
  event.waitUntil(syncInBackground(event.tag.slice(BACKGROUND_SYNC_TAG_PREFIX.length)));
  return true;
}

/**
 * Syncs the store `name` once, from its background-sync record: `synced`; `off` when the app has
 * not opted in for it; `no-key` when its data set is encrypted and no page has synced it with the
 * secret yet; `not-found` when the store has no local data (deleted since the sync was registered).
 * @throws what the sync failed with.
 */
export async function syncInBackground(name: string): Promise<BackgroundSyncOutcome> {
  // Opening a store creates its database: never for one whose data was deleted meanwhile.
  if (!(await databaseExists(name))) return 'not-found';
  provideLazyParts();
  const engine = new Engine();
  await engine.open(name);
  try {
    return await (engine.replica as unknown as ReplicaHost).syncInBackground();
  } finally {
    await engine.close();
  }
}

/**
 * Browsers refuse `import()` in a service worker: every part the page's worker loads on first use
 * (src/core/lazy-part.ts) is imported statically here and given to its loader.
 */
function provideLazyParts(): void {
  bearerFetchPart.provide(bearerFetch);
  probePart.provide(probe);
  s3FetchPart.provide(s3Fetch);
  sealingPart.provide(sealing);
}

async function databaseExists(name: string): Promise<boolean> {
  const list = await indexedDB.databases?.();
  return list === undefined || list.some((db) => db.name === storeDatabaseName(name));
}
