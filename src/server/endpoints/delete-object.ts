/** `DELETE /<key>`: honors `If-Match`; 204, or 404 when absent (412 if `If-Match` was sent). */
import { notFound, preconditionFailed } from '../http-error.js';
import { writePrecondition, type ObjectEndpoint } from './endpoint.js';

/** Deletes the object, atomically against its preconditions. */
export const deleteObject: ObjectEndpoint = async ({ store, responses }, { response, key, conditions }) => {
  const result = await store.delete(key, writePrecondition(conditions));
  if (result.deleted) return responses.send(response, 204);
  if (result.currentETag !== null || conditions.ifMatch !== undefined) throw preconditionFailed(key);
  throw notFound(key);
};
