/**
 * The module Web Worker entry: runs one {@link Engine} and exposes it with comlink. Spawn it with
 * `new Worker(new URL('chainsync/worker', import.meta.url), { type: 'module' })` or let
 * `openStore` do it.
 */
import { expose } from 'comlink';
import { Engine } from './engine.js';
import { installErrorTransfer } from './rpc/error-transfer.js';

export type { Engine } from './engine.js';

installErrorTransfer();
expose(new Engine());
