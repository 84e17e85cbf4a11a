/**
 * The byte format of everything the engine stores remotely (history segments and snapshots):
 *
 *     plain:  [0x01][compression][body]
 *     sealed: [0x02][IV][AES-GCM([compression][body])]      (see crypto.ts)
 *
 * `compression` is 0 (none) or 1 (gzip). The associated data names the kind, client, version and
 * parent, so a server cannot move a sealed value to another place in the chain.
 *
 * Inflating is bounded, with no change to the format: every gzip member ends with ISIZE, the
 * body's length (mod 2^32, little-endian; RFC 1952), so each gzipped value written by any version
 * of chainsync already declares how long its body is — authenticated when sealed. A body may not
 * grow past that declaration, nor past the reader's `maxDecodedBytes`, and the decompressor is
 * stopped the moment it does, so a bomb is never inflated whole. Plain, a server can lie about
 * the length, but only down (refused once passed) or up to the reader's bound.
 */
import { ChainIntegrityError, InvalidArgumentError, WrongSecretError } from '../contracts/errors.js';
import { utf8 } from '../core/bytes.js';
import { gunzip, gzip, InflateLimitError } from './compression.js';
import { SEALED_FORMAT } from './crypto.js';
import { sealingPart } from './sealing-part.js';

/** First byte of an unencrypted value. */
export const PLAIN_FORMAT = 0x01;
/** Bodies larger than this are gzipped. */
const COMPRESS_ABOVE = 512;
/** `inner[0]`: how the body is stored. */
const NONE = 0;
const GZIP = 1;
/** The shortest gzip member: a 10-byte header, an empty deflate block, CRC32 and ISIZE. */
const GZIP_MIN_BYTES = 10 + 2 + 8;

/**
 * Default of `maxDecodedBytes`: the largest body (segment or snapshot) a replica inflates. 256 MiB
 * is about half of what a JavaScript string can hold (V8: 2^29 - 24 UTF-16 units), so a body
 * bigger than this could hardly be parsed as JSON anyway; a hostile server's bomb costs at most this.
 */
export const DEFAULT_MAX_DECODED_BYTES = 256 * 1024 * 1024;

/**
 * The range of `maxDecodedBytes`. Below 64 KiB a replica would refuse ordinary versions (a full
 * one of 1,000 operations is larger) and soon any snapshot. Above 4 GiB - 1 a longer body could
 * not be told from a lie: gzip declares lengths modulo 2^32 (and no JavaScript string is as long).
 */
const MAX_DECODED_BYTES_RANGE = [64 * 1024, 0xffff_ffff] as const;

/**
 * Checks a `maxDecodedBytes` option.
 * @throws InvalidArgumentError unless it is an integer from 64 KiB to 4 GiB - 1.
 */
export function assertMaxDecodedBytes(value: unknown, argument = 'options.maxDecodedBytes'): void {
  const [min, max] = MAX_DECODED_BYTES_RANGE;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      argument,
      `expected a byte count from ${min} (64 KiB) to ${max} (4 GiB - 1), got ${typeof value === 'number' ? value : typeof value}; the default, 256 MiB, fits most data sets.`,
    );
  }
}

/** Seals and opens values of one chain: `key` null means the chain is not encrypted. */
export interface EnvelopeKey {
  readonly key: CryptoKey | null;
  /** The largest body a value may inflate to (default {@link DEFAULT_MAX_DECODED_BYTES}). */
  readonly maxDecodedBytes?: number | undefined;
}

/** Wraps `body` (compressing when worthwhile, sealing when there is a key). */
export async function wrap(env: EnvelopeKey, body: Uint8Array, aad: string): Promise<Uint8Array> {
  const compressed = body.length > COMPRESS_ABOVE;
  const data = compressed ? await gzip(body) : body;
  const inner = new Uint8Array(1 + data.length);
  inner[0] = compressed ? GZIP : NONE;
  inner.set(data, 1);
  if (env.key) return (await sealingPart.load()).seal(env.key, inner, utf8(aad));
  const out = new Uint8Array(1 + inner.length);
  out[0] = PLAIN_FORMAT;
  out.set(inner, 1);
  return out;
}

/** A value whose envelope is open (authenticated, when sealed), its body not yet inflated. */
export interface OpenedValue {
  /** What it is, for messages (`version …`, `snapshot of version …`). */
  readonly what: string;
  /** The inner value: the compression tag, then the (compressed) body. */
  readonly inner: Uint8Array;
}

/**
 * Opens what {@link wrap} produced under the same `aad`, without inflating it.
 * @throws WrongSecretError for a sealed value without a key; ChainIntegrityError when the value
 * fails authentication, is plaintext on an encrypted chain, or has an unknown format.
 */
export async function openValue(
  env: EnvelopeKey,
  bytes: Uint8Array,
  aad: string,
  what: string,
): Promise<OpenedValue> {
  if (bytes[0] === SEALED_FORMAT) {
    if (!env.key) {
      throw new WrongSecretError(`The remote ${what} is encrypted: open the replica with its secret.`);
    }
    const opened = await (await sealingPart.load()).unseal(env.key, bytes, utf8(aad));
    if (!opened) {
      throw new ChainIntegrityError(
        `The remote ${what} failed authentication: it was tampered with or moved.`,
      );
    }
    return { what, inner: opened };
  }
  if (bytes[0] === PLAIN_FORMAT) {
    if (env.key) {
      throw new ChainIntegrityError(
        `The remote ${what} is unencrypted, but this data set is encrypted: a replica opened without the secret wrote it (open every replica of the data set with the same \`secret\`), or the server injected it.`,
      );
    }
    return { what, inner: bytes.subarray(1) };
  }
  throw new ChainIntegrityError(`The remote ${what} has an unknown format (first byte ${bytes[0]}).`);
}

/** The largest body `env`'s reader inflates: its `maxDecodedBytes`, or the default. */
export function maxDecoded(env: EnvelopeKey): number {
  return env.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
}

/** The body length a gzipped inner value declares (its gzip ISIZE), or null when it is too short. */
function declaredLength(inner: Uint8Array): number | null {
  if (inner.length < 1 + GZIP_MIN_BYTES) return null;
  return new DataView(inner.buffer, inner.byteOffset + inner.length - 4, 4).getUint32(0, true);
}

/**
 * The most bytes inflating `value` can produce before {@link inflate} stops it: its own length when
 * not compressed, else what it declares (capped by the reader's bound). Lets a caller inflating
 * many values at once keep their sum bounded.
 */
export function inflatedBound(env: EnvelopeKey, value: OpenedValue): number {
  const { inner } = value;
  const limit = maxDecoded(env);
  if (inner[0] === GZIP) return Math.min(declaredLength(inner) ?? 0, limit);
  return Math.min(Math.max(inner.length - 1, 0), limit);
}

/**
 * The body of an opened value, inflated within its declared length and the reader's bound.
 * @throws ChainIntegrityError when it would grow past either (found while inflating: the rest is
 * never inflated), ends short of what it declares, is corrupt, or uses an unknown compression.
 */
export async function inflate(env: EnvelopeKey, value: OpenedValue): Promise<Uint8Array> {
  const { inner, what } = value;
  const limit = maxDecoded(env);
  const tooBig = (found: string) =>
    new ChainIntegrityError(
      `The remote ${what} ${found}: it is corrupt, or a hostile server made it to exhaust this replica's memory (if this data set really holds bodies this big, give every replica a larger maxDecodedBytes).`,
    );
  if (inner[0] === NONE) {
    if (inner.length - 1 > limit) throw tooBig(`is more than ${limit} bytes long (maxDecodedBytes)`);
    return inner.subarray(1);
  }
  if (inner[0] !== GZIP) {
    throw new ChainIntegrityError(`The remote ${what} has an unknown compression (${inner[0]}).`);
  }
  const declared = declaredLength(inner);
  if (declared === null)
    throw new ChainIntegrityError(`The remote ${what} is corrupt (truncated gzip data).`);
  if (declared > limit) {
    throw tooBig(`declares a body of ${declared} bytes: more than ${limit} bytes (maxDecodedBytes)`);
  }
  let body: Uint8Array;
  try {
    body = await gunzip(inner.subarray(1), declared);
  } catch (error) {
    if (error instanceof InflateLimitError) {
      throw tooBig(`inflates to more than the ${declared} bytes it declares`);
    }
    throw new ChainIntegrityError(`The remote ${what} is corrupt (bad gzip data).`, { cause: error });
  }
  // zlib checks ISIZE against the member it ends; a value of several members is not ours.
  if (body.length !== declared) {
    throw new ChainIntegrityError(
      `The remote ${what} inflates to ${body.length} bytes, not the ${declared} it declares: it is corrupt or was tampered with.`,
    );
  }
  return body;
}

/**
 * Unwraps what {@link wrap} produced under the same `aad`: {@link openValue}, then {@link inflate}.
 * @throws WrongSecretError for a sealed value without a key; ChainIntegrityError when the value
 * fails authentication, is plaintext on an encrypted chain, is malformed, or inflates too far.
 */
export async function unwrap(
  env: EnvelopeKey,
  bytes: Uint8Array,
  aad: string,
  what: string,
): Promise<Uint8Array> {
  return inflate(env, await openValue(env, bytes, aad, what));
}
