/**
 * The demo without any server (`?server=msw`): an in-memory object server (the same msw handlers
 * the tests use) answers in this page's service worker. Requests from iframes and engine workers
 * of this origin are answered by the top page that started it, so every replica shares one store.
 * `&broken=1` makes it ignore preconditions, the case chainsync must refuse.
 */
import { setupWorker } from 'msw/browser';
import { createObjectServer } from '../src/testing/msw/object-server.js';

/** The base URL the in-browser object server answers under. */
export const MSW_SERVER_URL = 'https://objects.chainsync.test/demo/';

/** Starts the in-browser object server; resolves once the service worker controls this page. */
export async function startMswServer(params: URLSearchParams): Promise<string> {
  const server = createObjectServer({
    baseUrl: MSW_SERVER_URL,
    ignorePreconditions: params.get('broken') === '1',
  });
  await setupWorker(...server.handlers).start({
    serviceWorker: { url: './mockServiceWorker.js' },
    onUnhandledRequest: 'bypass',
    quiet: true,
  });
  return MSW_SERVER_URL;
}
