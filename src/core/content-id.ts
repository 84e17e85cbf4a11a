import type { ContentId } from '../contracts/blob-storage.js';
import { toHex } from './bytes.js';

/** The {@link ContentId} of `data`: its SHA-256 (WebCrypto) as lowercase hex. */
export async function contentIdOf(data: Uint8Array): Promise<ContentId> {
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}
