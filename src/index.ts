/**
 * chainsync: offline-first sync for web apps. This entry holds the contracts (types and errors),
 * the in-memory implementations and the main-thread client (`openStore`); the worker engine, remote backends, TanStack Query bindings,
 * test helpers and reference server live in the `chainsync/*` subpaths.
 */
export * from './contracts/index.js';
export * from './memory/index.js';
export { contentIdOf } from './core/content-id.js';
export * from './client/index.js';
