/**
 * The envelope the HTTP backend wraps objects in on servers whose ETags are not unique per write
 * (S3's MD5 ETags) or whose DELETE ignores `If-Match`:
 *
 *     "\0CHSYNC1" | kind (1 byte: D data, T tombstone) | nonce (16 random bytes)
 *     | parent length (uint16 BE) | parent (UTF-8) | data
 *
 * - The random nonce makes every write's bytes, and so its content-derived ETag, unique (no ABA).
 * - A tombstone stands for "deleted" where a conditional DELETE is impossible: it is written by a
 *   conditional PUT, so deleting stays a compare-and-swap.
 * - `parent` is the version the write was conditioned on (`""` create-only, `"*"` unconditional).
 *   After an indeterminate conditional write, reading back the object proves the outcome: our nonce
 *   means applied; another write from the same parent means ours lost (it can no longer apply, as
 *   ETags never repeat).
 *
 * Objects without the magic prefix are returned as they are, so plain objects stay readable.
 */
import { bytesEqual, fromUtf8, utf8 } from '../../core/bytes.js';

const MAGIC = utf8('\0CHSYNC1');
const DATA = 0x44;
const TOMBSTONE = 0x54;
const NONCE_BYTES = 16;
const FIXED = MAGIC.length + 1 + NONCE_BYTES + 2;

/** `parent` of a create-only write. */
export const FROM_ABSENT = '';
/** `parent` of an unconditional write. */
export const UNCONDITIONAL = '*';

/** A decoded envelope, or the object's raw bytes when it has none. */
export type Unwrapped =
  | { readonly kind: 'data'; readonly data: Uint8Array; readonly nonce: Uint8Array; readonly parent: string }
  | { readonly kind: 'tombstone'; readonly nonce: Uint8Array; readonly parent: string }
  | { readonly kind: 'raw'; readonly data: Uint8Array };

/** A fresh random nonce. */
export function newNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

/** Wraps `data` (or a tombstone when `data` is null). */
export function wrap(data: Uint8Array | null, nonce: Uint8Array, parent: string): Uint8Array {
  const parentBytes = utf8(parent);
  const out = new Uint8Array(FIXED + parentBytes.length + (data?.length ?? 0));
  out.set(MAGIC, 0);
  out[MAGIC.length] = data ? DATA : TOMBSTONE;
  out.set(nonce, MAGIC.length + 1);
  new DataView(out.buffer).setUint16(FIXED - 2, parentBytes.length);
  out.set(parentBytes, FIXED);
  if (data) out.set(data, FIXED + parentBytes.length);
  return out;
}

/** Reads an object's envelope; bytes without one are `raw`. */
export function unwrap(bytes: Uint8Array): Unwrapped {
  const kind = bytes[MAGIC.length];
  if (
    bytes.length < FIXED ||
    !bytesEqual(bytes.subarray(0, MAGIC.length), MAGIC) ||
    (kind !== DATA && kind !== TOMBSTONE)
  ) {
    return { kind: 'raw', data: bytes };
  }
  const parentLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(FIXED - 2);
  if (FIXED + parentLength > bytes.length) return { kind: 'raw', data: bytes };
  const nonce = bytes.slice(MAGIC.length + 1, MAGIC.length + 1 + NONCE_BYTES);
  const parent = fromUtf8(bytes.subarray(FIXED, FIXED + parentLength));
  if (kind === TOMBSTONE) return { kind: 'tombstone', nonce, parent };
  return { kind: 'data', data: bytes.slice(FIXED + parentLength), nonce, parent };
}

/**
 * What the envelope adds to an object whose parent ETag is at most {@link PARENT_ALLOWANCE} bytes:
 * what a backend that wraps objects deducts from the server's stated object limit.
 */
export const PARENT_ALLOWANCE = 256;
export const ENVELOPE_OVERHEAD_BYTES = FIXED + PARENT_ALLOWANCE;

/** Objects this small may be tombstones: a HEAD cannot tell, a GET must. */
export function mayBeTombstone(contentLength: number): boolean {
  return contentLength >= FIXED && contentLength <= FIXED + 4096;
}
