/**
 * Which object keys the server accepts. Keys never become file paths (the store names files by a
 * hash of the key), so traversal could not escape the directory anyway; refusing `..` and friends
 * is defense in depth and keeps keys portable to servers that do map keys to paths.
 */
import { MAX_KEY_BYTES } from '../contracts/common.js';

const encoder = new TextEncoder();

/** Why a key is refused, phrased for the person who sent it. `null` when the key is fine. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return 'the key is empty: use /<key>, e.g. /notes/today.';
  if (!key.isWellFormed()) return 'the key is not well-formed Unicode.';
  const bytes = encoder.encode(key).length;
  if (bytes > MAX_KEY_BYTES) return `the key is ${bytes} UTF-8 bytes long; the limit is ${MAX_KEY_BYTES}.`;
  // C0 controls (NUL included), DEL and C1 controls: invisible, and NUL truncates paths elsewhere.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) return 'the key contains a control character.';
  if (key.includes('\\')) return 'the key contains a backslash; separate segments with "/".';
  for (const segment of key.split('/')) {
    if (segment === '') return 'the key has an empty segment (a leading, trailing or doubled "/").';
    if (segment === '.' || segment === '..') return `the key has a "${segment}" segment (path traversal).`;
  }
  return null;
}

/** A key, or why the request path does not name one. */
export type ParsedKey = { readonly key: string } | { readonly problem: string };

/**
 * The key named by a request path (`/a/b%20c` → `a/b c`), percent-decoded before validation so
 * that `%2e%2e` is refused exactly like `..`.
 */
export function keyFromPath(path: string): ParsedKey {
  if (!path.startsWith('/')) return { problem: 'the request target must be a path starting with "/".' };
  let key: string;
  try {
    key = decodeURIComponent(path.slice(1));
  } catch {
    return { problem: 'the path has malformed percent-encoding (or encodes invalid UTF-8).' };
  }
  const problem = keyProblem(key);
  return problem === null ? { key } : { problem };
}
