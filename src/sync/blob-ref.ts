/**
 * The JSON-safe reference an object property holds to a blob:
 *
 *     { "$blob": "<sha-256 hex of the bytes>", "size": 1234, "type"?: "image/png",
 *       "sealed"?: { "remote": "<sha-256 hex of the sealed object>", "key": "<base64 AES key>" } }
 *
 * `sealed` is present on encrypted replica sets: the blob is uploaded sealed under its own random
 * key, addressed by the hash of the sealed bytes, so the server never sees the plaintext hash.
 * The reference itself travels inside an encrypted history segment.
 */
import type { BlobRef, SealedBlob } from '../contracts/replica.js';
import type { JsonValue } from '../contracts/replica.js';
import type { ContentId } from '../contracts/blob-storage.js';
import { InvalidArgumentError } from '../contracts/errors.js';
import { assertContentId } from '../core/validate.js';

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** Builds a reference (validated). Apps normally get one from `replica.putBlob`. */
export function blobRef(contentId: ContentId, size: number, type?: string, sealed?: SealedBlob): BlobRef {
  const ref: BlobRef = {
    $blob: contentId,
    size,
    ...(type === undefined ? {} : { type }),
    ...(sealed === undefined ? {} : { sealed: { remote: sealed.remote, key: sealed.key } }),
  };
  if (!isBlobRef(ref)) {
    throw new InvalidArgumentError(
      'blobRef',
      'expected a 64-hex content id, a non-negative integer size, an optional string type and optional { remote, key }.',
    );
  }
  return ref;
}

/** Whether `value` is a well-formed blob reference (exactly the keys above, nothing else). */
export function isBlobRef(value: unknown): value is BlobRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) if (!['$blob', 'size', 'type', 'sealed'].includes(k)) return false;
  if (!isContentId(v.$blob) || !Number.isSafeInteger(v.size) || (v.size as number) < 0) return false;
  if (v.type !== undefined && typeof v.type !== 'string') return false;
  if (v.sealed === undefined) return true;
  const s = v.sealed as Record<string, unknown> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    Object.keys(s).length === 2 &&
    isContentId(s.remote) &&
    typeof s.key === 'string' &&
    BASE64_KEY.test(s.key)
  );
}

/** Every blob reference anywhere inside `value` (nested objects and arrays included). */
export function findBlobRefs(value: JsonValue | undefined, out: BlobRef[] = []): BlobRef[] {
  if (typeof value !== 'object' || value === null) return out;
  if (isBlobRef(value)) {
    out.push(value);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) findBlobRefs(v, out);
  return out;
}

function isContentId(value: unknown): value is ContentId {
  try {
    assertContentId(value);
    return true;
  } catch {
    return false;
  }
}
