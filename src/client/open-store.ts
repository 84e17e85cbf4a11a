import type { BatchCasKv } from '../contracts/cas-kv.js';
import type { Consensus } from '../contracts/consensus.js';
import type { Storage } from '../contracts/storage.js';
import { WorkerTerminatedError } from '../contracts/errors.js';
import { assertKey } from '../core/validate.js';
import { ClientBlobStorage } from './client-blob-storage.js';
import { ClientCasKv } from './client-cas-kv.js';
import { ClientConsensus } from './client-consensus.js';
import { ClientStorage } from './client-storage.js';
import { WorkerLink } from './worker-link.js';
import { assertBrowserSupport } from './browser-support.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * Makes the engine's module worker. Pass one when a bundler rewrites library workers (Vite's
   * dependency pre-bundling breaks `new URL(…, import.meta.url)` inside packages), e.g.
   * `() => new Worker(new URL('chainsync/worker', import.meta.url), { type: 'module' })`.
   */
  worker?: () => Worker;
}

/** Leadership among every tab and worker that opened the same store (Web Locks). */
export interface Leadership {
  /** Enters the election; resolves when this instance leads. Leadership moves when the leader's tab or worker dies. */
  campaign(): Promise<void>;
  isLeader(): Promise<boolean>;
  /** Gives leadership up (or withdraws from the election). */
  resign(): Promise<void>;
}

/** An open store: typed access to every contract, all served by one worker over one IndexedDB database. */
export interface ChainsyncStore {
  readonly name: string;
  /** This instance's pid: the worker holds a Web Lock named after it while it lives. */
  readonly pid: string;
  readonly kv: BatchCasKv;
  readonly consensus: Consensus;
  readonly storage: Storage;
  readonly blobs: ClientBlobStorage;
  readonly leadership: Leadership;
  /** Closes the database and ends the worker; pending and later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}

/** The engine worker shipped with the package, as a module worker. */
export function defaultWorker(): Worker {
  return new Worker(new URL('../../worker/worker.js', import.meta.url), {
    // Vite's dev server (and Vitest's browser mode) adds a static import of its env module to every
    // worker it serves, unless the options are marked as not for it to read: it inlines the module
    // instead. A static import would stall the worker's start in Firefox under a service worker
    // that intercepts its requests, such as msw's (worker/README.md). Builds are the same either way.
    /* @vite-ignore */
    type: 'module',
    name: 'chainsync',
  });
}

/**
 * Opens the store `name` in a new engine worker: its IndexedDB database is created or upgraded on
 * first use. If the worker dies, every pending and later call rejects with WORKER_TERMINATED.
 * @throws UnsupportedBrowserError if the page lacks a feature the engine needs (nothing is started).
 */
export async function openStore(name: string, options: OpenStoreOptions = {}): Promise<ChainsyncStore> {
  assertKey(name, 'name');
  const { link, pid } = await startEngine(name, options.worker);
  return {
    name,
    pid,
    kv: new ClientCasKv(link),
    consensus: new ClientConsensus(link),
    storage: new ClientStorage(link),
    blobs: new ClientBlobStorage(link, pid),
    leadership: {
      campaign: () => link.call((r) => r.campaign()),
      isLeader: () => link.call((r) => r.isLeader()),
      resign: () => link.call((r) => r.resign()),
    },
    close: () => link.close(),
  };
}

/**
 * Starts an engine worker (made by `makeWorker`, else {@link defaultWorker}) and opens the store
 * `name` in it; returns the link to the worker and the worker's pid. If the store cannot be
 * opened, the worker is ended and the error thrown.
 * @throws UnsupportedBrowserError if the page lacks a feature the engine needs (nothing is started).
 * @throws WorkerTerminatedError if the worker cannot be created or fails to start.
 */
export async function startEngine(
  name: string,
  makeWorker: (() => Worker) | undefined,
): Promise<{ link: WorkerLink; pid: string }> {
  assertBrowserSupport();
  let worker: Worker;
  try {
    worker = (makeWorker ?? defaultWorker)();
  } catch (error) {
    throw new WorkerTerminatedError(
      `The chainsync worker could not be created (${String(error)}); check the worker factory.`,
      { cause: error },
    );
  }
  const link = new WorkerLink(worker);
  let pid: string;
  try {
    ({ pid } = await link.call((r) => r.open(name)));
  } catch (error) {
    await link.close();
    throw error;
  }
  link.started(pid);
  return { link, pid };
}
