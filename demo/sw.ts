/**
 * The demo's service worker, built by vite-plugin-pwa (demo/pwa.mjs) into `sw.js`. It precaches
 * the app shell and the engine worker, so a second visit starts with no network at all, and serves
 * them cache first; and it answers chainsync's Background Sync (`chainsync/sw`).
 *
 * Updates never strand a page on code it was not built with: a new version installs next to the
 * old one and waits. It takes over when every tab of the demo has closed, or when the user accepts
 * the update in a tab (`SKIP_WAITING`), after which every tab reloads (demo/pwa-register.ts). Until
 * then the old worker keeps serving the old files from its own precache, so an open tab never loads
 * a chunk of the new version against the database.
 */
import { cleanupOutdatedCaches, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { handleBackgroundSync, type BackgroundSyncEvent } from '../worker/sw.js';

/** The parts of ServiceWorkerGlobalScope used here (the project's TypeScript lib is the DOM's). */
interface DemoServiceWorkerScope {
  /** Replaced at build time by the precache manifest: every file of the build, with revisions. */
  readonly __WB_MANIFEST: (string | PrecacheEntry)[];
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'sync', listener: (event: BackgroundSyncEvent) => void): void;
}

/** The `activate` event (not in the DOM's lib). */
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
declare const self: DemoServiceWorkerScope;

cleanupOutdatedCaches();
// The pages take their settings from the query string (`replica.html?name=B&set=…`): any query
// string is served the precached page.
precacheAndRoute(self.__WB_MANIFEST, { ignoreURLParametersMatching: [/.*/] });

// The first install takes the open pages over at once, so that an update deployed while the first
// visit is still open waits for them like any other (an uncontrolled page would not hold it back,
// and would go on loading files from the network, whatever version they are by then).
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});

// Edits made offline reach the server once the network is back, even with every tab closed: the
// replica pages open with `backgroundSync: true`, and register a sync when they are stranded.
self.addEventListener('sync', (event) => void handleBackgroundSync(event));
