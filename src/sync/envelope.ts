/**
 * The byte format of everything the engine stores remotely (history segments and snapshots):
 *
 *     plain:  [0x01][compression][body]
 *     sealed: [0x02][IV][AES-GCM([compression][body])]      (see crypto.ts)
 *
 * `compression` is 0 (none) or 1 (gzip). The associated data names the kind, client, version and
 * parent, so a server cannot move a sealed value to another place in the chain.
 */
import { ChainIntegrityError, WrongSecretError } from '../contracts/errors.js';
import { utf8 } from '../core/bytes.js';
import { gunzip, gzip } from './compression.js';
import { SEALED_FORMAT, seal, unseal } from './crypto.js';

/** First byte of an unencrypted value. */
export const PLAIN_FORMAT = 0x01;
/** Bodies larger than this are gzipped. */
const COMPRESS_ABOVE = 512;

/** Seals and opens values of one chain: `key` null means the chain is not encrypted. */
export interface EnvelopeKey {
  readonly key: CryptoKey | null;
}

/** Wraps `body` (compressing when worthwhile, sealing when there is a key). */
export async function wrap(env: EnvelopeKey, body: Uint8Array, aad: string): Promise<Uint8Array> {
  const compressed = body.length > COMPRESS_ABOVE;
  const data = compressed ? await gzip(body) : body;
  const inner = new Uint8Array(1 + data.length);
  inner[0] = compressed ? 1 : 0;
  inner.set(data, 1);
  if (env.key) return seal(env.key, inner, utf8(aad));
  const out = new Uint8Array(1 + inner.length);
  out[0] = PLAIN_FORMAT;
  out.set(inner, 1);
  return out;
}

/**
 * Unwraps what {@link wrap} produced under the same `aad`.
 * @throws WrongSecretError for a sealed value without a key; ChainIntegrityError when the value
 * fails authentication, is plaintext on an encrypted chain, or is malformed.
 */
export async function unwrap(
  env: EnvelopeKey,
  bytes: Uint8Array,
  aad: string,
  what: string,
): Promise<Uint8Array> {
  let inner: Uint8Array;
  if (bytes[0] === SEALED_FORMAT) {
    if (!env.key) {
      throw new WrongSecretError(`The remote ${what} is encrypted: open the replica with its secret.`);
    }
    const opened = await unseal(env.key, bytes, utf8(aad));
    if (!opened) {
      throw new ChainIntegrityError(
        `The remote ${what} failed authentication: it was tampered with or moved.`,
      );
    }
    inner = opened;
  } else if (bytes[0] === PLAIN_FORMAT) {
    if (env.key) {
      throw new ChainIntegrityError(
        `The remote ${what} is unencrypted on an encrypted chain: the server injected it.`,
      );
    }
    inner = bytes.subarray(1);
  } else {
    throw new ChainIntegrityError(`The remote ${what} has an unknown format (first byte ${bytes[0]}).`);
  }
  if (inner[0] === 0) return inner.subarray(1);
  if (inner[0] === 1) {
    try {
      return await gunzip(inner.subarray(1));
    } catch (error) {
      throw new ChainIntegrityError(`The remote ${what} is corrupt (bad gzip data).`, { cause: error });
    }
  }
  throw new ChainIntegrityError(`The remote ${what} has an unknown compression (${inner[0]}).`);
}
