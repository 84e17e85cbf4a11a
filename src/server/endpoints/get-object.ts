/**
 * `GET|HEAD /<key>`: the bytes with a strong `ETag`; `If-None-Match` → 304, `If-Match` → 412.
 */
import { pipeline } from 'node:stream/promises';
import { evaluateConditions } from '../../core/http-semantics.js';
import { notFound, preconditionFailed } from '../http-error.js';
import type { ObjectEndpoint } from './endpoint.js';

/** Serves an object, or only its headers for HEAD. */
export const getObject: ObjectEndpoint = async (
  { store, responses },
  { request, response, key, conditions },
) => {
  const object = await store.read(key);
  if (object === null) {
    if (conditions.ifMatch !== undefined) throw preconditionFailed(key);
    throw notFound(key);
  }
  const outcome = evaluateConditions(conditions, object.etag, true);
  if (outcome !== 'proceed') {
    await object.close();
    if (outcome === 'precondition-failed') throw preconditionFailed(key);
    responses.send(response, 304, { ETag: object.etag, 'Cache-Control': 'no-cache' });
    return;
  }
  const headers = {
    ETag: object.etag,
    'Content-Type': 'application/octet-stream',
    'Content-Length': object.size,
    // Browsers may cache, but must revalidate: a sync client must never see a stale version.
    'Cache-Control': 'no-cache',
  };
  if (request.method === 'HEAD') {
    await object.close();
    responses.send(response, 200, headers);
    return;
  }
  responses.head(response, 200, headers);
  await pipeline(object.body(), response);
};
