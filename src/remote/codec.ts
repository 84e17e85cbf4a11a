/** Small encoders shared by the remote implementations' object formats. */
import { ChainIntegrityError } from '../contracts/errors.js';
import { fromUtf8, toHex, utf8 } from '../core/bytes.js';

/** Standard base64 of `bytes` (for binary fields inside JSON objects). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** Bytes of a standard base64 string. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

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
