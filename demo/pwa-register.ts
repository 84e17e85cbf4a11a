/**
 * Registers the demo's service worker (demo/sw.ts) and handles its updates. Only the production
 * build has one (`DEMO_BUILD=1 npm run demo`), only the top page registers it (the replica iframes
 * are controlled through it), and never in msw mode, whose mock server is a service worker of the
 * same scope.
 *
 * An update waits until the user accepts it: a banner says a new version is ready; accepting it
 * activates the new worker, and every tab of the demo reloads on the change of controller, so no
 * tab goes on running the old code next to the new one against the same IndexedDB databases.
 * Closing every tab also activates it, as the browser does for any waiting worker.
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
  wb.addEventListener('waiting', () => showUpdateBanner(() => wb.messageSkipWaiting()));
  // A worker is active once its install (the precache) finished: from now on the app starts with
  // no network.
  void container.ready.then(() => (document.documentElement.dataset.offlineReady = 'true'));
  wb.register().catch((error: unknown) => {
    console.warn('chainsync demo: the service worker was not registered:', error);
  });
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
