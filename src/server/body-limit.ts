/** The limit on request bodies: checked on `Content-Length` before reading, and while streaming. */
import type { IncomingMessage } from 'node:http';

/** Thrown while streaming a body that outgrows the limit its `Content-Length` did not announce. */
export class BodyTooLargeError extends Error {}

/** True when the request announces a body over `limit` bytes: refuse it before reading a byte. */
export function declaresBodyOver(request: IncomingMessage, limit: number): boolean {
  const declared = request.headers['content-length'];
  return declared !== undefined && Number(declared) > limit;
}

/** Yields the request body, failing with {@link BodyTooLargeError} as soon as it exceeds `limit` bytes. */
export async function* limitedBody(request: IncomingMessage, limit: number): AsyncGenerator<Uint8Array> {
  let received = 0;
  // destroyOnReturn: false keeps the socket alive when we stop early, so the 413 can still be sent.
  for await (const chunk of request.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) throw new BodyTooLargeError();
    yield chunk;
  }
}
