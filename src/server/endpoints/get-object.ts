/**
 * `GET|HEAD /<key>`: the bytes with a strong `ETag`; `If-None-Match` → 304, `If-Match` → 412.
 * With `Prefer: wait=N` (RFC 7240) a GET whose answer would be 304 or 404 is held until the object
 * changes, at most N seconds, and answered with `Preference-Applied` (the change signal,
 * docs/live-sync.md).
 */
import { pipeline } from 'node:stream/promises';
import {
  evaluateConditions,
  MAX_WAIT_SECONDS,
  preferredWait,
  PREFERENCE_APPLIED,
  type ConditionOutcome,
} from '../../core/http-semantics.js';
import { notFound, preconditionFailed } from '../http-error.js';
import type { StoredObject } from '../object-store.js';
import type { ObjectEndpoint, ObjectRequest, ServerContext } from './endpoint.js';

/** Serves an object, or only its headers for HEAD; holds a GET that asked to wait for a change. */
export const getObject: ObjectEndpoint = async (context, object) => {
  const { request, key } = object;
  // Without the signal the preference is ignored (RFC 7240 allows it): the client's probe sees no
  // Preference-Applied and its watcher polls.
  const wait =
    request.method === 'GET' && context.changeSignal ? preferredWait(request.headers.prefer) : null;
  let current = await context.store.read(key);
  if (wait === null) return answer(context, object, current, {});
  const seconds = Math.min(wait, MAX_WAIT_SECONDS);
  // Applied also when there is nothing to wait for (the object changed already): the client learns
  // that it may ask again at once, its next request being held.
  const applied = { [PREFERENCE_APPLIED]: `wait=${seconds}` };
  if (seconds === 0 || !unchanged(object, current)) return answer(context, object, current, applied);
  const seen = current?.etag ?? null;
  await current?.close();
  const held = context.waits.hold(
    key,
    seen,
    () => context.store.etagOf(key),
    seconds,
    // A client gone while the object was read has no 'close' to come: release it now.
    (release) => (request.socket.destroyed ? release() : object.response.once('close', release)),
  );
  // Over the cap (or shutting down): a plain conditional GET, so this client polls.
  if (held === null) return answer(context, object, await context.store.read(key), {});
  if ((await held) === 'gone') return;
  current = await context.store.read(key);
  return answer(context, object, current, applied);
};

/** The answer would say "nothing new": 304, or 404 for an absent object asked without `If-Match`. */
function unchanged({ conditions }: ObjectRequest, current: StoredObject | null): boolean {
  if (current === null) return conditions.ifMatch === undefined;
  return evaluateConditions(conditions, current.etag, true) === 'not-modified';
}

async function answer(
  { responses }: ServerContext,
  { request, response, key, conditions }: ObjectRequest,
  object: StoredObject | null,
  extra: Record<string, string>,
): Promise<void> {
  if (object === null) {
    if (conditions.ifMatch !== undefined) throw preconditionFailed(key);
    throw notFound(key, extra);
  }
  const outcome: ConditionOutcome = evaluateConditions(conditions, object.etag, true);
  if (outcome !== 'proceed') {
    await object.close();
    if (outcome === 'precondition-failed') throw preconditionFailed(key);
    responses.send(response, 304, { ETag: object.etag, 'Cache-Control': 'no-cache', ...extra });
    return;
  }
  const headers = {
    ETag: object.etag,
    'Content-Type': 'application/octet-stream',
    'Content-Length': object.size,
    // A write replaces the whole file (written, then renamed into place): its mtime is the write's.
    // Remote blob GC reads it to tell a blob's age (docs/compaction.md).
    'Last-Modified': object.modified.toUTCString(),
    // Browsers may cache, but must revalidate: a sync client must never see a stale version.
    'Cache-Control': 'no-cache',
    ...extra,
  };
  if (request.method === 'HEAD') {
    await object.close();
    responses.send(response, 200, headers);
    return;
  }
  responses.head(response, 200, headers);
  await pipeline(object.body(), response);
}
