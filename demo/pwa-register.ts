/**
 * Registers the demo's service worker (demo/sw.ts) and handles its updates. Only the production
 * build has one (`DEMO_BUILD=1 npm run demo`), only the top page registers it (the replica iframes
 * are controlled through it), and never in msw mode, whose mock server is a service worker of the
 * same scope.
 *
 * An update waits until the user accepts it: a banner says a new version is ready; accepting it
 * first closes the replica of every page of the demo, in every tab ({@link holdReplicaUntilUpdate}),
 * then activates the new worker, and every tab reloads on the change of controller, so no tab goes
 * on running the old code next to the new one against the same IndexedDB databases. Closing every
 * tab also activates it, as the browser does for any waiting worker.
 *
 * Why the replicas close before the new worker is asked to take over: Chromium activates a worker
 * that called `skipWaiting()` only once the old one has no work left. It asks the old worker to stop
 * as soon as it is idle; a fetch arriving while it stops (an open replica syncs every second, and
 * every request of a controlled page, the engine worker's included, is an event for the service
 * worker) starts it again, with its normal idle timeout, and an open replica never lets it idle
 * again: the new version then waits up to five minutes (`kMaxLameDuckTime`) and no tab reloads.
 * With every replica closed, nothing wakes the old worker, and the new one activates at once.
 */
import { Workbox } from 'workbox-window';

declare const __DEMO_VERSION__: string;

/** The build this page runs (set by demo/serve.mjs; `dev` from the dev server). */
export const demoVersion = typeof __DEMO_VERSION__ === 'string' ? __DEMO_VERSION__ : 'dev';

/** Registers the service worker when this page is the one that should; see the module comment. */
export function registerDemoServiceWorker(params: URLSearchParams): void {
  document.documentElement.dataset.appVersion = demoVersion;
  // Only demo/serve.mjs's production build defines a version, and only it has a service worker.
  if (demoVersion === 'dev' || !('serviceWorker' in navigator)) return;
  if (window.top !== window || params.get('server') === 'msw') return;
  const container = navigator.serviceWorker;
  const wb = new Workbox('./sw.js');
  // A change of controller is an update taking over: reload onto the new version. Except the first
  // one of a page that had none, which is the first install claiming it (demo/sw.ts).
  let controlled = container.controller !== null;
  let reloading = false;
  container.addEventListener('controllerchange', () => {
    if (!controlled) {
      controlled = true;
      return;
    }
    if (reloading) return;
    reloading = true;
    location.reload();
  });
  wb.addEventListener('waiting', () =>
    showUpdateBanner(() => void closeEveryReplica().then(() => wb.messageSkipWaiting())),
  );
  // A worker is active once its install (the precache) finished: from now on the app starts with
  // no network.
  void container.ready.then(() => (document.documentElement.dataset.offlineReady = 'true'));
  wb.register().catch((error: unknown) => {
    console.warn('chainsync demo: the service worker was not registered:', error);
  });
}

/** The channel on which an accepted update asks every page of the demo to close its replica. */
const UPDATE_CHANNEL = 'chainsync-demo:update';
/** Held, shared, by every page whose replica is open; taken exclusively once they all closed. */
const OPEN_REPLICAS_LOCK = 'chainsync-demo:open-replicas';

/**
 * Counts this page's replica as open until an update is accepted in any tab of the demo; then calls
 * `close` (which closes the replica: no more requests through the old service worker) and stops
 * counting it once that settled. Resolves when the page counts: open the replica after it, so that
 * an update accepted meanwhile waits for this page too.
 */
export function holdReplicaUntilUpdate(close: () => Promise<void>): Promise<void> {
  // Without Web Locks there is nothing to count: the update goes ahead once asked (see below).
  if (!('locks' in navigator)) return Promise.resolve();
  const channel = new BroadcastChannel(UPDATE_CHANNEL);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  channel.addEventListener('message', () => {
    channel.close();
    close().then(release, release);
  });
  return new Promise<void>((counted) => {
    void navigator.locks.request(OPEN_REPLICAS_LOCK, { mode: 'shared' }, () => {
      counted();
      return released;
    });
  });
}

/** Asks every page of the demo to close its replica; resolves once all of them did. */
async function closeEveryReplica(): Promise<void> {
  const channel = new BroadcastChannel(UPDATE_CHANNEL);
  channel.postMessage('close');
  channel.close();
  if ('locks' in navigator) await navigator.locks.request(OPEN_REPLICAS_LOCK, () => undefined);
}

/** Shows, once, the banner that offers the waiting version; `accept` activates it. */
function showUpdateBanner(accept: () => void): void {
  if (document.querySelector('[data-testid="update"]')) return;
  const banner = document.createElement('p');
  banner.className = 'update';
  banner.dataset.testid = 'update';
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.testid = 'update-now';
  button.textContent = 'Update and reload every tab';
  button.addEventListener('click', () => {
    button.disabled = true;
    accept();
  });
  banner.append('A new version of the demo is ready. ', button);
  document.body.prepend(banner);
}
