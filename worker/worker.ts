/**
 * `chainsync/worker`: the module Web Worker entry. It runs one engine (IndexedDB, multi-tab
 * plumbing, the hosted replica) and exposes it with comlink. Spawn it with
 * `new Worker(new URL('chainsync/worker', import.meta.url), { type: 'module' })` and pass it as
 * `openReplica`'s `worker` option, or let `openReplica` / `openStore` spawn it.
 *
 * The entry imports nothing statically: it starts listening at once, keeps the messages that
 * arrive, and loads the engine with `import()` (engine-entry.ts), which answers the kept messages
 * first, then the live ones. A worker whose first module statically imports others is not running
 * until all of them have loaded, and a service worker that intercepts those requests and asks for
 * the requesting worker's client (msw's does) waits in Firefox for that worker to run: neither
 * ever goes on. A bundler may split the engine into several files; only this one loads before the
 * worker runs. If the engine cannot be loaded, the worker fails with an uncaught error, which the
 * page's client reports as WORKER_TERMINATED ("failed to start").
 * @module chainsync/worker
 */
export type { Engine } from './engine.js';

/** The worker's global scope as used here (the project's TypeScript lib describes a window). */
interface WorkerScope {
  addEventListener(type: string, listener: EventListenerOrEventListenerObject): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject): void;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
/** The messages that arrived before the engine listened, in arrival order; null once handed over. */
let kept: Event[] | null = [];
const keep = (event: Event): void => {
  kept?.push(event);
};
scope.addEventListener('message', keep);

/**
 * comlink's endpoint for the engine: this worker's own, except that the first message listener
 * added gets the kept messages first. It gets them, and replaces the keeping listener, in one
 * synchronous step, so no message is lost or reordered in between.
 */
const endpoint = {
  postMessage(message: unknown, transfer: Transferable[] = []): void {
    scope.postMessage(message, transfer);
  },
  addEventListener(type: string, listener: EventListenerOrEventListenerObject): void {
    if (type === 'message' && kept) {
      const earlier = kept;
      kept = null;
      scope.removeEventListener('message', keep);
      for (const event of earlier) {
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      }
    }
    scope.addEventListener(type, listener);
  },
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject): void {
    scope.removeEventListener(type, listener);
  },
};

import('./engine-entry.js')
  .then(({ startEngine }) => startEngine(endpoint))
  .catch((cause: unknown) => {
    scope.removeEventListener('message', keep);
    kept = null;
    // A rejected promise does not reach the page; an error thrown from a task is the worker's
    // uncaught error, an 'error' event on the page's Worker object.
    setTimeout(() => {
      throw new Error(`chainsync's worker could not load or start its engine (${String(cause)})`, { cause });
    });
  });
