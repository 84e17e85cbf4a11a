/**
 * chainsync/testing: runtime test doubles that work in Node and in the browser and need no peer
 * dependency — a contract-level fault wrapper for any `AtomicRemoteBackend` and held writes. The
 * in-memory object server for msw is `chainsync/testing/msw` (it needs msw, whose types would
 * otherwise fail every strict consumer without it); the conformance suites, which need Vitest, are
 * `chainsync/testing/conformance`.
 * @module chainsync/testing
 */
export { FaultyBackend, type FaultCounts, type FaultyBackendOptions } from './faulty-backend.js';
export {
  WriteHolds,
  holdingFetch,
  type Fetch,
  type HeldWrite,
  type HeldWriteInfo,
  type HoldOptions,
} from './held-writes.js';
