/** The failures the reference server answers with a 4xx status and a JSON body saying what to do. */

/** A failure the client caused, answered with `status`, `headers` and `{ "error", "message" }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** 412: the request's `If-Match` / `If-None-Match` does not hold for `key`. */
export function preconditionFailed(key: string): HttpError {
  return new HttpError(
    412,
    'precondition_failed',
    `The condition does not hold for ${JSON.stringify(key)}: it changed (or does not exist). Read it again.`,
  );
}

/** 404: there is no object `key`. */
export function notFound(key: string, headers: Record<string, string> = {}): HttpError {
  return new HttpError(404, 'not_found', `There is no object ${JSON.stringify(key)}.`, headers);
}

/** 413: the body is over the server's limit. */
export function bodyTooLarge(): HttpError {
  return new HttpError(413, 'too_large', 'The body exceeds the server limit (--max-body-bytes).');
}

/**
 * 503: the directory lock does not vouch for this server's writes — for good (`lost`: another
 * server took the directory over) or for now (not confirmed lately: retry).
 */
export function lockNotHeld(message: string, lost: boolean): HttpError {
  return lost
    ? new HttpError(503, 'lock_lost', message)
    : new HttpError(503, 'lock_unconfirmed', message, { 'Retry-After': '1' });
}
