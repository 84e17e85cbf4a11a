/**
 * chainsync: offline-first sync for web apps. This entry holds the contracts (types and errors),
 * the in-memory implementations, the remote implementations and HTTP adapter, and the main-thread
 * client (`openStore`). The worker engine, TanStack Query bindings, test helpers and the reference
 * server live in the `chainsync/*` subpaths.
 * @module chainsync
 */
export * from './contracts/index.js';
export * from './memory/index.js';
export * from './remote/index.js';
export * from './sync/index.js';
export { contentIdOf } from './core/content-id.js';
export {
  withStorageTxn,
  DEFAULT_TXN_ATTEMPTS,
  type StorageTxnRetryOptions,
} from './core/storage-txn-retry.js';
export * from './client/index.js';
export type { Timers } from './core/timers.js';
export type { StorageEstimator } from './core/storage-estimate.js';
export {
  RemoteWatcher,
  type HeadCheck,
  type PageState,
  type PollIntervals,
  type RemoteWatcherOptions,
  type WatchTransport,
} from './core/remote-watcher.js';
