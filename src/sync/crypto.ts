/**
 * End-to-end encryption: AES-256-GCM (WebCrypto) under a key derived from the user's secret with
 * PBKDF2-SHA256. The salt and a key-check value live in a {@link CasKv} next to the chain, so every
 * replica derives the same key and a wrong secret is reported before anything is decrypted.
 *
 * This module holds what every replica needs (formats, whether a chain is encrypted); the code
 * that seals, opens and derives keys is in `sealing.ts`, loaded on first use through
 * `sealing-part.ts`, so an app without a secret never downloads it.
 */
import type { CasKv } from '../contracts/cas-kv.js';
import type { Uuid } from '../contracts/storage.js';

/** PBKDF2 iterations (OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256). */
export const PBKDF2_ITERATIONS = 600_000;
/** First byte of every sealed value: the format of what follows. */
export const SEALED_FORMAT = 0x02;
/** Bytes of the random IV at the start of a sealed value, after its format byte. */
export const IV_BYTES = 12;
/** Bytes sealing adds to a value beyond the plain envelope: the IV and the 128-bit GCM tag. */
export const SEAL_OVERHEAD_BYTES = IV_BYTES + 16;

/** CasKv key of a client's encryption record. */
export function encryptionKeyName(clientId: Uuid): string {
  return `chainsync/encryption/${clientId}`;
}

/**
 * What a chain holds, judged by its oldest data still on the server (the snapshot, else the first
 * version): nothing yet, plain text (an unencrypted data set), or sealed data.
 */
export type ChainContent = 'nothing' | 'plaintext' | 'sealed';

/** True for a WebCrypto key (in any realm: a key cloned from another worker is one too). */
export function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof CryptoKey !== 'undefined' && value instanceof CryptoKey;
}

/** True when the chain has an encryption record (so it must be opened with a secret). */
export async function isEncrypted(kv: CasKv, clientId: Uuid): Promise<boolean> {
  return (await kv.get(encryptionKeyName(clientId))) !== null;
}
