/**
 * The demo's main page: one iframe per replica, all sharing this page's query string (server mode,
 * data set), so each iframe opens its own replica over its own IndexedDB database. With
 * `?server=msw` this page first starts the in-browser object server the iframes sync through.
 */
import { startMswServer } from './msw-mode.js';
import { registerDemoServiceWorker } from './pwa-register.js';

const params = new URLSearchParams(location.search);
registerDemoServiceWorker(params);
const names = (params.get('replicas') ?? 'A,B,C').split(',').filter(Boolean);
const main = document.getElementById('replicas') as HTMLElement;
if (params.get('server') === 'msw') params.set('server', await startMswServer(params));
for (const name of names) {
  const frame = document.createElement('iframe');
  const query = new URLSearchParams(params);
  query.delete('replicas');
  query.set('name', name);
  frame.src = `./replica.html?${query.toString()}`;
  frame.title = `Replica ${name}`;
  frame.dataset.testid = `replica-${name}`;
  main.append(frame);
}
