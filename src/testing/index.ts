/**
 * chainsync/testing: runtime test doubles that work in Node and in the browser and need no peer
 * dependency — a contract-level fault wrapper for any `AtomicRemoteBackend` and held writes. The
 * in-memory object server for msw is `chainsync/testing/msw` (it needs msw, whose types would
 * otherwise fail every strict consumer without it); the conformance suites, which need Vitest, are
 * `chainsync/testing/conformance`.
 */
export { FaultyBackend, type FaultyBackendOptions } from './faulty-backend.js';
export {
  WriteHolds,
  holdingFetch,
  type HeldWrite,
  type HeldWriteInfo,
  type HoldOptions,
} from './held-writes.js';
