/**
 * chainsync/testing/msw: msw handlers for an in-memory RFC 9110 object server with fault
 * injection, for tests and demos without a real server. Needs the optional peer dependency `msw`
 * (2.x), which only this subpath imports.
 * @module chainsync/testing/msw
 */
export {
  createObjectServer,
  type ObjectMethod,
  type ObjectServer,
  type ObjectServerBehaviour,
  type ObjectServerFault,
  type ObjectServerOptions,
  type ObjectServerRequest,
} from './object-server.js';
export { inProcessFetch } from './in-process-fetch.js';
