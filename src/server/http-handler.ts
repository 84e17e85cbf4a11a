/**
 * The reference server's HTTP semantics (RFC 9110) over an {@link ObjectStore}:
 *
 * - `GET|HEAD /<key>`: the bytes with a strong `ETag`; `If-None-Match` → 304, `If-Match` → 412.
 * - `PUT /<key>`: `If-None-Match: *` (create only) and `If-Match` (strong comparison, a list or `*`);
 *   201 on create, 204 on replace, the new `ETag` in both; 412 when a precondition fails.
 * - `DELETE /<key>`: honors `If-Match`; 204, or 404 when absent (412 if `If-Match` was sent).
 * - `GET /?list=<prefix>`: `{ "keys": [...] }`, ascending.
 * - CORS on every response (preflight included) exposing `ETag`; optional bearer token (401);
 *   body limit (413, from `Content-Length` before reading and while streaming); invalid keys (400);
 *   other methods (405). Errors carry a JSON body `{ "error", "message" }` saying what to do.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { MAX_KEY_BYTES } from '../contracts/common.js';
import { evaluateConditions, isMalformed, readConditions, type Conditions } from '../core/http-semantics.js';
import { keyFromPath } from './object-key.js';
import type { ObjectStore } from './object-store.js';

/** Options of {@link createRequestHandler}. */
export interface RequestHandlerOptions {
  readonly store: ObjectStore;
  /** When set, every request except CORS preflights needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Largest accepted PUT body, in bytes. */
  readonly maxBodyBytes: number;
  /** True once the server is shutting down: responses then close their connection. */
  readonly isClosing?: () => boolean;
}

const OBJECT_METHODS = 'GET, HEAD, PUT, DELETE, OPTIONS';

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'ETag, WWW-Authenticate',
};

const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': OBJECT_METHODS,
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match, If-None-Match',
  'Access-Control-Max-Age': '86400',
};

/** Thrown while streaming a body that outgrows the limit its `Content-Length` did not announce. */
class BodyTooLargeError extends Error {}

/** A failure the client caused, answered with `status` and a message. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Yields the request body, failing as soon as it exceeds `limit` bytes. */
async function* limitedBody(request: IncomingMessage, limit: number): AsyncGenerator<Uint8Array> {
  let received = 0;
  // destroyOnReturn: false keeps the socket alive when we stop early, so the 413 can still be sent.
  for await (const chunk of request.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) throw new BodyTooLargeError();
    yield chunk;
  }
}

/** Builds the `(request, response)` listener for `http.createServer`. */
export function createRequestHandler(
  options: RequestHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { store, maxBodyBytes } = options;
  const tokenDigest = options.token === undefined ? undefined : sha256(options.token);

  function send(
    response: ServerResponse,
    status: number,
    headers: Record<string, string | number> = {},
    body?: string,
  ): void {
    if (options.isClosing?.()) response.setHeader('Connection', 'close');
    response.writeHead(status, { ...CORS_HEADERS, ...headers });
    response.end(body);
  }

  function sendError(response: ServerResponse, failure: HttpError): void {
    const body = JSON.stringify({ error: failure.error, message: failure.message }) + '\n';
    send(
      response,
      failure.status,
      {
        ...failure.headers,
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      },
      body,
    );
  }

  function authorize(request: IncomingMessage): void {
    if (tokenDigest === undefined) return;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    const presented = match?.[1];
    if (presented !== undefined && timingSafeEqual(sha256(presented), tokenDigest)) return;
    const challenge =
      header === undefined ? 'Bearer realm="chainsync"' : 'Bearer realm="chainsync", error="invalid_token"';
    throw new HttpError(
      401,
      'unauthorized',
      header === undefined
        ? 'This server needs a token: send "Authorization: Bearer <token>".'
        : 'The token is wrong or the Authorization header is not "Bearer <token>".',
      { 'WWW-Authenticate': challenge },
    );
  }

  async function getObject(
    request: IncomingMessage,
    response: ServerResponse,
    key: string,
    conditions: Conditions,
  ) {
    const object = await store.read(key);
    if (object === null) {
      if (conditions.ifMatch !== undefined) throw preconditionFailed(key);
      throw new HttpError(404, 'not_found', `There is no object ${JSON.stringify(key)}.`);
    }
    const outcome = evaluateConditions(conditions, object.etag, true);
    if (outcome !== 'proceed') {
      await object.close();
      if (outcome === 'precondition-failed') throw preconditionFailed(key);
      send(response, 304, { ETag: object.etag, 'Cache-Control': 'no-cache' });
      return;
    }
    const headers = {
      ...CORS_HEADERS,
      ETag: object.etag,
      'Content-Type': 'application/octet-stream',
      'Content-Length': object.size,
      // Browsers may cache, but must revalidate: a sync client must never see a stale version.
      'Cache-Control': 'no-cache',
    };
    if (options.isClosing?.()) response.setHeader('Connection', 'close');
    if (request.method === 'HEAD') {
      await object.close();
      response.writeHead(200, headers).end();
      return;
    }
    response.writeHead(200, headers);
    await pipeline(object.body(), response);
  }

  async function putObject(
    request: IncomingMessage,
    response: ServerResponse,
    key: string,
    conditions: Conditions,
  ) {
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) throw bodyTooLarge();
    // Refuse a stale write before receiving its body; the store checks again atomically at commit.
    if (evaluateConditions(conditions, store.etagOf(key), false) !== 'proceed') throw preconditionFailed(key);
    // A client that asked to wait (Expect: 100-continue) sends the body only now that it may be
    // accepted; a refusal above reached it before it sent a byte.
    if (/^\s*100-continue\s*$/i.test(request.headers.expect ?? '')) response.writeContinue();
    let result;
    try {
      result = await store.write(
        key,
        limitedBody(request, maxBodyBytes),
        (current) => evaluateConditions(conditions, current, false) === 'proceed',
      );
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw bodyTooLarge();
      throw error;
    }
    if (!result.committed) throw preconditionFailed(key);
    send(response, result.created ? 201 : 204, {
      ETag: result.etag,
      ...(result.created ? { 'Content-Length': 0 } : {}),
    });
  }

  async function deleteObject(response: ServerResponse, key: string, conditions: Conditions) {
    const result = await store.delete(
      key,
      (current) => evaluateConditions(conditions, current, false) === 'proceed',
    );
    if (result.deleted) return send(response, 204);
    if (result.currentETag !== null || conditions.ifMatch !== undefined) throw preconditionFailed(key);
    throw new HttpError(404, 'not_found', `There is no object ${JSON.stringify(key)}.`);
  }

  function listKeys(request: IncomingMessage, response: ServerResponse, query: URLSearchParams) {
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
    const body = JSON.stringify({ keys: store.list(prefix) }) + '\n';
    send(
      response,
      200,
      {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      },
      request.method === 'HEAD' ? undefined : body,
    );
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? '';
    if (method === 'OPTIONS') return send(response, 204, { ...PREFLIGHT_HEADERS, Allow: OBJECT_METHODS });
    if (!['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) {
      throw new HttpError(405, 'method_not_allowed', `${method} is not supported; use ${OBJECT_METHODS}.`, {
        Allow: OBJECT_METHODS,
      });
    }
    authorize(request);
    const target = request.url ?? '';
    const queryStart = target.indexOf('?');
    const path = queryStart < 0 ? target : target.slice(0, queryStart);
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      return listKeys(
        request,
        response,
        new URLSearchParams(queryStart < 0 ? '' : target.slice(queryStart + 1)),
      );
    }
    const parsed = keyFromPath(path);
    if ('problem' in parsed) throw new HttpError(400, 'bad_key', `Invalid key: ${parsed.problem}`);
    const conditions = readConditions((name) => request.headers[name]);
    if (isMalformed(conditions)) throw new HttpError(400, 'bad_condition', conditions.message);
    if (method === 'PUT') return putObject(request, response, parsed.key, conditions);
    if (method === 'DELETE') return deleteObject(response, parsed.key, conditions);
    return getObject(request, response, parsed.key, conditions);
  }

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (error instanceof HttpError) {
        if (error.status === 413) {
          response.setHeader('Connection', 'close');
          // Drain what the client already sent, so closing sends FIN rather than a reset that
          // could destroy the 413 before the client reads it.
          request.resume();
        }
        if (!response.headersSent) return sendError(response, error);
      } else if (request.readableAborted || response.destroyed) {
        // The client went away mid-request: nothing was committed, nobody to answer.
      } else {
        console.error('chainsync-server: internal error:', error);
        if (!response.headersSent) {
          return sendError(response, new HttpError(500, 'internal_error', 'The server failed; see its log.'));
        }
      }
      response.destroy();
    });
  };
}

function preconditionFailed(key: string): HttpError {
  return new HttpError(
    412,
    'precondition_failed',
    `The condition does not hold for ${JSON.stringify(key)}: it changed (or does not exist). Read it again.`,
  );
}

function bodyTooLarge(): HttpError {
  return new HttpError(413, 'too_large', 'The body exceeds the server limit (--max-body-bytes).');
}
