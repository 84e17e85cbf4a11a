/**
 * `chainsync/worker`: the module Web Worker entry. It runs one engine (IndexedDB, multi-tab
 * plumbing, the hosted replica) and exposes it with comlink. Spawn it with
 * `new Worker(new URL('chainsync/worker', import.meta.url), { type: 'module' })` and pass it as
 * `openReplica`'s `worker` option, or let `openReplica` / `openStore` spawn it.
 * @module chainsync/worker
 */
import { expose } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransfer } from './rpc/error-transfer.js';

export type { Engine } from './engine.js';

installErrorTransfer();
expose(new Engine());
