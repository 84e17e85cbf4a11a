/**
 * chainsync/server (Node only): the reference ETag server. Serves a directory of objects over HTTP
 * with strong ETags and atomic `If-Match` / `If-None-Match`; also available as the
 * `chainsync-server` command.
 * @module chainsync/server
 */
export { startServer, type RunningServer } from './server.js';
export { DEFAULT_MAX_BODY_BYTES, type ServerOptions } from './server-options.js';
