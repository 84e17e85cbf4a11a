/**
 * `PUT /<key>`: `If-None-Match: *` (create only) and `If-Match` (strong comparison, a list or `*`);
 * 201 on create, 204 on replace, the new `ETag` in both; 412 when a precondition fails; 413 when
 * the body is over the limit.
 */
import { BodyTooLargeError, declaresBodyOver, limitedBody } from '../body-limit.js';
import { bodyTooLarge, preconditionFailed } from '../http-error.js';
import type { WriteResult } from '../object-store.js';
import { writePrecondition, type ObjectEndpoint } from './endpoint.js';

/** Stores the request body as the object, atomically against its preconditions. */
export const putObject: ObjectEndpoint = async (
  { store, maxBodyBytes, responses },
  { request, response, key, conditions },
) => {
  if (declaresBodyOver(request, maxBodyBytes)) throw bodyTooLarge();
  const mayWrite = writePrecondition(conditions);
  // Refuse a stale write before receiving its body; the store checks again atomically at commit.
  if (!mayWrite(store.etagOf(key))) throw preconditionFailed(key);
  // A client that asked to wait (Expect: 100-continue) sends the body only now that it may be
  // accepted; a refusal above reached it before it sent a byte.
  if (/^\s*100-continue\s*$/i.test(request.headers.expect ?? '')) response.writeContinue();
  let result: WriteResult;
  try {
    result = await store.write(key, limitedBody(request, maxBodyBytes), mayWrite);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw bodyTooLarge();
    throw error;
  }
  if (!result.committed) throw preconditionFailed(key);
  responses.send(response, result.created ? 201 : 204, {
    ETag: result.etag,
    ...(result.created ? { 'Content-Length': 0 } : {}),
  });
};
