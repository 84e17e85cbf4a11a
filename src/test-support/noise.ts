/** Test data that does not compress. */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** `n` random characters: gzip cannot shrink them below ~3/4 of their length. */
export function noise(n: number): string {
  const bytes = new Uint8Array(n);
  // getRandomValues fills at most 64 KiB per call.
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  return Array.from(bytes, (b) => ALPHABET[b & 63]).join('');
}
