/**
 * chainsync/testing: the conformance suites every implementation of a contract runs (Vitest), so a
 * custom implementation can prove it behaves like the built-in ones.
 */
export * from './conformance/index.js';
