/**
 * How the remote implementations name their objects. User keys may hold any character (`/`, `.`,
 * spaces, emoji) and be up to 1024 UTF-8 bytes, while object keys must stay valid S3 keys and HTTP
 * path segments on every server (no `.`/`..` segments, no `%` to double-decode, at most 255 bytes
 * per segment on file-system backed servers). So each user key becomes exactly one path segment:
 *
 * - `[A-Za-z0-9_-]` pass through; every other UTF-8 byte becomes `~` and two lowercase hex digits
 *   (`/` → `~2f`, `.` → `~2e`, `~` → `~7e`). The encoding is injective and prefix-preserving
 *   (`encode(a + b) = encode(a) + encode(b)`), so a LIST by an encoded key prefix finds exactly the
 *   keys with that prefix.
 * - An encoding longer than {@link MAX_DIRECT_SEGMENT} characters is replaced by `~~` and the
 *   SHA-256 of the key in hex. `~~` never occurs in a direct encoding (a `~` is always followed by
 *   two hex digits), so the two forms cannot collide; objects named this way carry their key inside.
 */
import { InvalidArgumentError } from '../contracts/errors.js';
import { toHex, utf8 } from '../core/bytes.js';

/** Longest direct encoding of a key; longer ones are hashed (see the module comment). */
export const MAX_DIRECT_SEGMENT = 200;

/** First characters of a hashed key segment. */
export const HASHED_SEGMENT_MARK = '~~';

const SAFE = /^[A-Za-z0-9_-]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9_.~-]+$/;

/** The direct, prefix-preserving encoding of `text` (may exceed {@link MAX_DIRECT_SEGMENT}). */
export function encodeKeyText(text: string): string {
  let out = '';
  for (const char of text) {
    if (SAFE.test(char)) out += char;
    else for (const byte of utf8(char)) out += '~' + byte.toString(16).padStart(2, '0');
  }
  return out;
}

/** The user key of a direct segment, or `null` for a hashed segment or one that is not an encoding. */
export function decodeKeySegment(segment: string): string | null {
  if (segment.startsWith(HASHED_SEGMENT_MARK)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length;) {
    const char = segment.charAt(i);
    if (char === '~') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (SAFE.test(char)) {
      bytes.push(char.charCodeAt(0));
      i += 1;
    } else {
      return null;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

/** The one path segment naming `key`: its direct encoding, or `~~<sha256>` when that is too long. */
export async function keySegment(key: string): Promise<string> {
  const direct = encodeKeyText(key);
  if (direct.length <= MAX_DIRECT_SEGMENT) return direct;
  const digest = await crypto.subtle.digest('SHA-256', utf8(key) as Uint8Array<ArrayBuffer>);
  return HASHED_SEGMENT_MARK + toHex(new Uint8Array(digest));
}

/**
 * Checks a store's `prefix` option and returns it with a trailing `/`. A prefix is one or more
 * `/`-separated segments of `[A-Za-z0-9_.~-]`, none of them `.` or `..`. Stores sharing a bucket
 * must use prefixes where neither is a path-prefix of the other (`app/kv` and `app/kv/x` overlap).
 */
export function objectRoot(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 256) {
    throw new InvalidArgumentError(
      'options.prefix',
      'expected a non-empty string of at most 256 characters naming where the store keeps its objects, e.g. "myapp/kv".',
    );
  }
  for (const segment of prefix.split('/')) {
    if (!PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new InvalidArgumentError(
        'options.prefix',
        `${JSON.stringify(prefix)} is not a valid prefix: use "/"-separated segments of letters, digits and "_.~-" (no empty, "." or ".." segments, no leading or trailing "/").`,
      );
    }
  }
  return prefix + '/';
}
