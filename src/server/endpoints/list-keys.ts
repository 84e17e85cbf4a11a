/** `GET|HEAD /?list=<prefix>`: `{ "keys": [...], "bytes": [...] }`, ascending; `bytes[i]` is the size of `keys[i]`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_KEY_BYTES } from '../../contracts/common.js';
import { HttpError } from '../http-error.js';
import type { ServerContext } from './endpoint.js';

/** Lists the keys starting with the `list` query parameter; HEAD gets the headers only. */
export async function listKeys(
  { store, responses }: ServerContext,
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
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
  const keys = store.list(prefix);
  const bytes = request.method === 'HEAD' ? [] : await store.sizes(keys);
  // An object deleted between listing and sizing is left out.
  const live = keys.flatMap((key, i) => (bytes[i] === null ? [] : [{ key, bytes: bytes[i] }]));
  const body =
    request.method === 'HEAD' ? { keys } : { keys: live.map((o) => o.key), bytes: live.map((o) => o.bytes) };
  responses.sendJson(response, 200, body, { omitBody: request.method === 'HEAD' });
}
