/**
 * The reference server's dispatcher (RFC 9110 over an {@link ObjectStore}): it refuses a `Host`
 * the server does not serve (421) and a web page it does not allow (403), answers CORS preflights,
 * refuses other methods (405), checks the bearer token (401), routes `/?list=` to the listing and
 * `/<key>` to the object endpoints after validating the key (400) and parsing the preconditions
 * (400), and turns failures into error responses. Each endpoint lives in its own module under
 * `endpoints/`; every response states the body limit (`Chainsync-Max-Object-Bytes`), allowed pages
 * get CORS headers exposing `ETag` and that limit, and errors carry a JSON body
 * `{ "error", "message" }` saying what to do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_OBJECT_BYTES_HEADER } from '../contracts/remote-backend.js';
import { isMalformed, readConditions } from '../core/http-semantics.js';
import { bearerTokenCheck } from './bearer-auth.js';
import type { ChangeWaits } from '../core/change-waits.js';
import { deleteObject } from './endpoints/delete-object.js';
import type { ObjectEndpoint, ServerContext } from './endpoints/endpoint.js';
import { getObject } from './endpoints/get-object.js';
import { listKeys } from './endpoints/list-keys.js';
import { preflight } from './endpoints/preflight.js';
import { putObject } from './endpoints/put-object.js';
import { DirectoryLockLostError, DirectoryLockUnconfirmedError } from './directory-lock.js';
import { hostCheck } from './host-check.js';
import { HttpError, lockNotHeld } from './http-error.js';
import { keyFromPath } from './object-key.js';
import type { ObjectStore } from './object-store.js';
import { corsHeaders, type OriginRule } from './origin-policy.js';
import { OBJECT_METHODS, ResponseWriter } from './responses.js';

/** Options of {@link createRequestHandler}. */
export interface RequestHandlerOptions {
  readonly store: ObjectStore;
  /** When set, every request except CORS preflights needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Largest accepted PUT body, in bytes. */
  readonly maxBodyBytes: number;
  /** The address the server listens on: a name the `Host` header may carry. */
  readonly host: string;
  /** Further names the `Host` header may carry (see `ServerOptions.allowedHosts`). */
  readonly allowedHosts: readonly string[];
  /** Which web pages may use the server. */
  readonly originRule: OriginRule;
  /** True once the server is shutting down: responses then close their connection. */
  readonly isClosing?: () => boolean;
  /** The change signal's held requests: the server's own, fed by the store's changes, closed at shutdown. */
  readonly waits: ChangeWaits;
  /** False: ignore `Prefer: wait` (see `ServerOptions.changeSignal`). Default true. */
  readonly changeSignal?: boolean;
}

/** The endpoint of each method on `/<key>`; any other method but OPTIONS gets 405. */
const OBJECT_ENDPOINTS = new Map<string, ObjectEndpoint>([
  ['GET', getObject],
  ['HEAD', getObject],
  ['PUT', putObject],
  ['DELETE', deleteObject],
]);

/** Builds the `(request, response)` listener for `http.createServer`. */
export function createRequestHandler(
  options: RequestHandlerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const context: ServerContext = {
    store: options.store,
    maxBodyBytes: options.maxBodyBytes,
    responses: new ResponseWriter(options.isClosing),
    waits: options.waits,
    changeSignal: options.changeSignal ?? true,
  };
  const authorize = bearerTokenCheck(options.token);
  const checkHost = hostCheck(options.host, options.allowedHosts);
  const bodyLimit = String(options.maxBodyBytes);

  async function dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // On every response, refusals included: a client learns the limit from its first request.
    response.setHeader(MAX_OBJECT_BYTES_HEADER, bodyLimit);
    checkHost(request.headers.host);
    for (const [name, value] of Object.entries(corsHeaders(options.originRule, request.headers.origin))) {
      response.setHeader(name, value);
    }
    const method = request.method ?? '';
    if (method === 'OPTIONS') return preflight(context.responses, response);
    const endpoint = OBJECT_ENDPOINTS.get(method);
    if (endpoint === undefined) {
      throw new HttpError(405, 'method_not_allowed', `${method} is not supported; use ${OBJECT_METHODS}.`, {
        Allow: OBJECT_METHODS,
      });
    }
    authorize(request);
    const target = request.url ?? '';
    const queryStart = target.indexOf('?');
    const path = queryStart < 0 ? target : target.slice(0, queryStart);
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      const query = new URLSearchParams(queryStart < 0 ? '' : target.slice(queryStart + 1));
      return listKeys(context, request, response, query);
    }
    const parsed = keyFromPath(path);
    if ('problem' in parsed) throw new HttpError(400, 'bad_key', `Invalid key: ${parsed.problem}`);
    const conditions = readConditions((name) => request.headers[name]);
    if (isMalformed(conditions)) throw new HttpError(400, 'bad_condition', conditions.message);
    return endpoint(context, { request, response, key: parsed.key, conditions });
  }

  return (request, response) => {
    dispatch(request, response).catch((error: unknown) =>
      answerFailure(context.responses, request, response, error),
    );
  };
}

/**
 * Answers a request that failed: an {@link HttpError} with its status, anything else with 500 (and
 * a log line). When the response has already begun, or the client has gone, the connection is cut.
 */
function answerFailure(
  responses: ResponseWriter,
  request: IncomingMessage,
  response: ServerResponse,
  thrown: unknown,
): void {
  const error = asHttpError(thrown);
  if (error instanceof HttpError) {
    if (error.status === 413) {
      response.setHeader('Connection', 'close');
      // Drain what the client already sent, so closing sends FIN rather than a reset that
      // could destroy the 413 before the client reads it.
      request.resume();
    }
    if (!response.headersSent) return responses.sendError(response, error);
  } else if (request.readableAborted || response.destroyed) {
    // The client went away mid-request: nothing was committed, nobody to answer.
  } else {
    console.error('chainsync-server: internal error:', error);
    if (!response.headersSent) {
      return responses.sendError(
        response,
        new HttpError(500, 'internal_error', 'The server failed; see its log.'),
      );
    }
  }
  response.destroy();
}

/** The failures that have a status of their own besides {@link HttpError}. */
function asHttpError(error: unknown): unknown {
  if (error instanceof DirectoryLockLostError) return lockNotHeld(error.message, true);
  if (error instanceof DirectoryLockUnconfirmedError) return lockNotHeld(error.message, false);
  return error;
}
