/**
 * The engine's start, imported by the worker entry (worker.ts) with `import()` once the worker
 * runs, so that everything the engine is made of loads after the entry has started (worker.ts says
 * why). The entry hands over its messages as a comlink endpoint: those that arrived while this
 * module loaded first, then the live ones.
 */
import { expose, type Endpoint } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransfer } from './rpc/error-transfer.js';

/** Runs one engine in this worker and answers its calls that arrive through `endpoint`. */
export function startEngine(endpoint: Endpoint): void {
  installErrorTransfer();
  expose(new Engine(), endpoint);
}
