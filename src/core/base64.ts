/** Standard base64 (RFC 4648 §4), for binary fields inside JSON objects (chain records, blob keys). */

/** `String.fromCharCode` takes its bytes as arguments: pass them in slices well under engines' argument limits. */
const CHUNK_BYTES = 0x8000;

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK_BYTES) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK_BYTES));
  }
  return btoa(binary);
}

/** Bytes of a standard base64 string (the inverse of {@link toBase64}); `atob` rejects malformed input. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
