import { getResponse, type RequestHandler } from 'msw';

/**
 * A `fetch` answered directly by msw request handlers, in process: no service worker and no
 * global interception, so it works the same in Node, browsers and workers. A handler's
 * `HttpResponse.error()` becomes the network error `fetch` would raise; the request's AbortSignal
 * is honoured while the handler runs.
 *
 * ```ts
 * const server = createObjectServer({ baseUrl: 'https://objects.test/space' });
 * const backend = new HttpRemoteBackend({ baseUrl: server.baseUrl, fetch: inProcessFetch(server.handlers) });
 * ```
 */
export function inProcessFetch(
  handlers: RequestHandler[],
): (input: string, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const request = new Request(input, init);
    const signal = request.signal;
    signal.throwIfAborted();
    const aborted = new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
    );
    const response = await Promise.race([getResponse(handlers, request), aborted]);
    if (!response) throw new TypeError(`Failed to fetch: no handler for ${request.method} ${request.url}`);
    if (response.type === 'error') throw new TypeError('Failed to fetch: the connection was dropped');
    return response;
  };
}
