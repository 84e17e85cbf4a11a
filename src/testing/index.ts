/**
 * chainsync/testing: runtime test doubles that work in Node and in the browser — an in-memory
 * RFC 9110 object server for msw with fault injection, and a contract-level fault wrapper for any
 * `AtomicRemoteBackend`. `msw` (2.x) is an optional peer dependency of this subpath. The
 * conformance suites, which need Vitest, are `chainsync/testing/conformance`.
 */
export * from './msw/index.js';
export { FaultyBackend, type FaultyBackendOptions } from './faulty-backend.js';
export {
  WriteHolds,
  holdingFetch,
  type HeldWrite,
  type HeldWriteInfo,
  type HoldOptions,
} from './held-writes.js';
