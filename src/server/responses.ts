/**
 * How the reference server writes its responses. (The headers every response carries — CORS, the
 * body limit — are set by the dispatcher before any endpoint runs.)
 */
import type { ServerResponse } from 'node:http';
import type { HttpError } from './http-error.js';

/** The methods the server answers, as listed in `Allow` and in CORS preflights. */
export const OBJECT_METHODS = 'GET, HEAD, PUT, DELETE, OPTIONS';

/** A JSON body's headers; `no-store` because listings and errors are never worth caching. */
function jsonHeaders(body: string): Record<string, string | number> {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  };
}

/**
 * Writes the server's responses, with `Connection: close` once the server is shutting down, so
 * that no client reuses a connection the server is about to end.
 */
export class ResponseWriter {
  readonly #isClosing: (() => boolean) | undefined;

  constructor(isClosing: (() => boolean) | undefined) {
    this.#isClosing = isClosing;
  }

  /** Writes the status line and headers; the caller then ends or streams the body. */
  head(
    response: ServerResponse,
    status: number,
    headers: Record<string, string | number> = {},
  ): ServerResponse {
    if (this.#isClosing?.()) response.setHeader('Connection', 'close');
    return response.writeHead(status, headers);
  }

  /** A whole response: headers and an optional text body. */
  send(
    response: ServerResponse,
    status: number,
    headers: Record<string, string | number> = {},
    body?: string,
  ): void {
    this.head(response, status, headers).end(body);
  }

  /**
   * A JSON response (one line). With `omitBody` (a HEAD request) it sends the headers the body
   * would have, `Content-Length` included, and no body.
   */
  sendJson(
    response: ServerResponse,
    status: number,
    value: unknown,
    { headers = {}, omitBody = false }: { headers?: Record<string, string>; omitBody?: boolean } = {},
  ): void {
    const body = JSON.stringify(value) + '\n';
    this.send(response, status, { ...headers, ...jsonHeaders(body) }, omitBody ? undefined : body);
  }

  /** The response to a failure: its status and headers, and `{ "error", "message" }`. */
  sendError(response: ServerResponse, failure: HttpError): void {
    this.sendJson(
      response,
      failure.status,
      { error: failure.error, message: failure.message },
      { headers: failure.headers },
    );
  }
}
