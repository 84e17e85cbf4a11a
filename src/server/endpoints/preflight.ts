/**
 * `OPTIONS` (any path): the CORS preflight of a page the dispatcher let through (it refused the
 * others), answered without authentication as browsers send none.
 */
import type { ServerResponse } from 'node:http';
import { OBJECT_METHODS, type ResponseWriter } from '../responses.js';

const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': OBJECT_METHODS,
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match, If-None-Match, Prefer',
  'Access-Control-Max-Age': '86400',
};

/** Allows the object methods and the headers chainsync sends (`Prefer`: the change signal), for a day. */
export function preflight(responses: ResponseWriter, response: ServerResponse): void {
  responses.send(response, 204, { ...PREFLIGHT_HEADERS, Allow: OBJECT_METHODS });
}
