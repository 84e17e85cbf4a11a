import { assertCount } from './validate.js';

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A private copy of just the viewed bytes, as a plain Uint8Array, so callers cannot mutate stored
 * bytes (and stored bytes cannot leak mutations). Built by the Uint8Array constructor, which reads
 * the source's internal slots: a subclass's own `slice` may share memory (Node's Buffer's does).
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 encode. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 decode. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Bytes [offset, offset + length) of `data`, clamped to its end: the seekable read every
 * BlobReader offers. Checks both numbers first.
 */
export function readRange(data: Uint8Array, offset: number, length: number): Uint8Array {
  assertCount(offset, 'offset');
  assertCount(length, 'length');
  return data.slice(offset, Math.min(data.length, offset + length));
}
