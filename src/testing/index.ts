/**
 * chainsync/testing: the conformance suites every implementation of a contract runs (Vitest), an
 * in-memory RFC 9110 object server for msw with fault injection, and a contract-level fault
 * wrapper. `vitest` and `msw` are optional peer dependencies of this subpath only.
 */
export * from './conformance/index.js';
export * from './msw/index.js';
export { FaultyBackend, type FaultyBackendOptions } from './faulty-backend.js';
