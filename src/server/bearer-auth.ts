/** The reference server's optional bearer token (one per server, i.e. per space). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The check every request except CORS preflights passes: `Authorization: Bearer <token>`, or a 401
 * {@link HttpError} with a `WWW-Authenticate` challenge. Without a token the server is open and the
 * check passes everything.
 */
export function bearerTokenCheck(token: string | undefined): (request: IncomingMessage) => void {
  if (token === undefined) return () => undefined;
  // Comparing digests keeps the comparison constant-time whatever length the client sends.
  const tokenDigest = sha256(token);
  return (request) => {
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
  };
}
