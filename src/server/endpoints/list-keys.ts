/** `GET|HEAD /?list=<prefix>`: `{ "keys": [...] }`, ascending. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_KEY_BYTES } from '../../contracts/common.js';
import { HttpError } from '../http-error.js';
import type { ServerContext } from './endpoint.js';

/** Lists the keys starting with the `list` query parameter; HEAD gets the headers only. */
export function listKeys(
  { store, responses }: ServerContext,
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
): void {
  const prefix = query.get('list');
  if (prefix === null) {
    throw new HttpError(400, 'bad_request', 'Name an object (/<key>) or list keys with /?list=<prefix>.');
  }
  if (!prefix.isWellFormed() || Buffer.byteLength(prefix) > MAX_KEY_BYTES) {
    throw new HttpError(
      400,
      'bad_prefix',
      `The prefix must be well-formed and at most ${MAX_KEY_BYTES} bytes.`,
    );
  }
  responses.sendJson(response, 200, { keys: store.list(prefix) }, { omitBody: request.method === 'HEAD' });
}
