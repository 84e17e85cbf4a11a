/** Small encoders shared by the remote implementations' object formats. */
import { ChainIntegrityError } from '../contracts/errors.js';
import { fromUtf8, toHex, utf8 } from '../core/bytes.js';

/** UTF-8 JSON of `value`. */
export function encodeJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value));
}

/**
 * Parses an object this library wrote. A foreign or corrupted object is a ChainIntegrityError
 * naming it, rather than a SyntaxError from deep inside.
 */
export function decodeJson<T>(bytes: Uint8Array, objectKey: string): T {
  try {
    return JSON.parse(fromUtf8(bytes)) as T;
  } catch (error) {
    throw new ChainIntegrityError(
      `${objectKey} is not a chainsync object (not JSON); is another program writing under this prefix?`,
      { cause: error },
    );
  }
}

/** A fresh 128-bit random id as 32 hex digits: names one write so it can be recognised on read-back. */
export function newWriteId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}
