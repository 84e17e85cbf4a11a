/**
 * The sealing half of end-to-end encryption (see `crypto.ts`): AES-256-GCM seal and open, PBKDF2
 * key derivation, the chain's encryption record. Loaded on first use (`sealing-part.ts`): only
 * replicas opened with a secret, and sealed blobs, run it.
 */
import type { CasKv } from '../contracts/cas-kv.js';
import {
  AlreadyExistsError,
  ChainIntegrityError,
  InvalidArgumentError,
  NotEncryptedError,
  WrongSecretError,
} from '../contracts/errors.js';
import type { Uuid } from '../contracts/storage.js';
import { fromBase64, toBase64 } from '../core/base64.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import {
  encryptionKeyName,
  isCryptoKey,
  IV_BYTES,
  PBKDF2_ITERATIONS,
  SEALED_FORMAT,
  type ChainContent,
} from './crypto.js';

const SALT_BYTES = 16;
const KEY_CHECK_AAD = utf8('chainsync/v1/key-check');
const KEY_CHECK_PLAINTEXT = utf8('chainsync key check v1');

/** Derives the AES-256-GCM key (non-extractable). Slow on purpose: do it once per session. */
export async function deriveKey(
  secret: string,
  salt: Uint8Array,
  iterations = PBKDF2_ITERATIONS,
): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', buf(utf8(secret)), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: buf(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/**
 * Seals `plaintext`: `[0x02][96-bit IV][ciphertext + 128-bit tag]`. `aad` is authenticated, not
 * stored. A fresh random IV per call unless a test passes one.
 */
export async function seal(
  key: CryptoKey,
  plaintext: Uint8Array,
  aad: Uint8Array,
  iv: Uint8Array = crypto.getRandomValues(new Uint8Array(IV_BYTES)),
): Promise<Uint8Array> {
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad) },
      key,
      buf(plaintext),
    ),
  );
  const out = new Uint8Array(1 + IV_BYTES + ct.length);
  out[0] = SEALED_FORMAT;
  out.set(iv, 1);
  out.set(ct, 1 + IV_BYTES);
  return out;
}

/** Opens what {@link seal} produced. Returns `null` when authentication fails (wrong key, AAD or bytes). */
export async function unseal(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array | null> {
  if (sealed[0] !== SEALED_FORMAT || sealed.length < 1 + IV_BYTES + 16) return null;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: buf(sealed.subarray(1, 1 + IV_BYTES)), additionalData: buf(aad) },
        key,
        buf(sealed.subarray(1 + IV_BYTES)),
      ),
    );
  } catch {
    return null;
  }
}

/** The remote record of a chain's encryption parameters. */
interface EncryptionRecord {
  v: 1;
  salt: string;
  iterations: number;
  check: string;
}

/**
 * Gets the key of `clientId`'s chain: reads the salt (creating salt and key check on first use,
 * race-free through `CasKv.create`), derives the key and verifies it against the key check.
 *
 * A record is created only for a chain that holds nothing yet (`chainHolds`): on a chain with
 * versions or a snapshot a missing record means either that the data set was never encrypted (its
 * data is plain text: the application gave a secret it should not have) or that the record was
 * lost or deleted on the server (its data is sealed); a new salt would make sealed data unreadable
 * for good, also once the old record is restored.
 * @throws WrongSecretError when the secret does not open the key check; NotEncryptedError when the
 * record is missing and the chain holds plain text; ChainIntegrityError when the record is missing
 * and the chain holds sealed data (in both cases nothing is created).
 */
export async function openEncryptionKey(
  kv: CasKv,
  clientId: Uuid,
  secret: string | CryptoKey,
  iterations: number,
  chainHolds: () => Promise<ChainContent>,
): Promise<CryptoKey> {
  if (isCryptoKey(secret)) return checkEncryptionKey(kv, clientId, secret);
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new InvalidArgumentError('secret', 'expected a non-empty string.');
  }
  const name = encryptionKeyName(clientId);
  let existing = await kv.get(name);
  const holds = existing ? null : await chainHolds();
  if (holds === 'plaintext') {
    throw new NotEncryptedError(
      `A secret was given, but this data set (${clientId}) is not encrypted: its data on the server is plain text and it has no encryption record. ` +
        'Open the replica without `secret` to use it as it is, or start the encrypted data set under another `prefix`. Nothing was changed.',
    );
  }
  if (holds === 'sealed') {
    throw new ChainIntegrityError(
      `The encryption record (${name}) is missing, but the chain of ${clientId} already holds encrypted data: the record was deleted or lost on the server. Restore the record (from a backup or the server's history). No new record was made (it could never open the existing data) and nothing was changed.`,
    );
  }
  if (!existing) {
    const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    const key = await deriveKey(secret, salt, iterations);
    const check = await seal(key, KEY_CHECK_PLAINTEXT, KEY_CHECK_AAD);
    const record: EncryptionRecord = { v: 1, salt: toBase64(salt), iterations, check: toBase64(check) };
    try {
      await kv.create(name, utf8(JSON.stringify(record)));
      return key;
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
      existing = await kv.get(name); // another replica got there first: use its salt
      if (!existing) throw error;
    }
  }
  const record = parseRecord(existing.value);
  if (record.iterations !== iterations) {
    throw new WrongSecretError(
      `This chain's key was derived with ${record.iterations} PBKDF2 iterations, not ${iterations}; open it with the same settings.`,
    );
  }
  const key = await deriveKey(secret, fromBase64(record.salt), iterations);
  if (!(await opensKeyCheck(key, record))) {
    throw new WrongSecretError(
      "The secret does not open this replica set's data. Nothing was changed; check the secret.",
    );
  }
  return key;
}

/** Whether `key` decrypts the record's key check. */
async function opensKeyCheck(key: CryptoKey, record: EncryptionRecord): Promise<boolean> {
  const check = await unseal(key, fromBase64(record.check), KEY_CHECK_AAD);
  return check !== null && fromUtf8(check) === fromUtf8(KEY_CHECK_PLAINTEXT);
}

/**
 * Opens the data set with a key an earlier session derived from its secret (a service worker's
 * background sync has the key, never the secret). No PBKDF2: the key is checked against the
 * record's key check, which must exist (a key never starts a data set).
 * @throws WrongSecretError when the key does not open the key check; ChainIntegrityError when the
 * record is missing.
 */
async function checkEncryptionKey(kv: CasKv, clientId: Uuid, key: CryptoKey): Promise<CryptoKey> {
  const name = encryptionKeyName(clientId);
  const existing = await kv.get(name);
  if (!existing) {
    throw new ChainIntegrityError(
      `The encryption record (${name}) is missing on the server, but this replica holds a key made from it: the record was deleted or lost. Restore it (from a backup or the server's history). Nothing was changed.`,
    );
  }
  if (!(await opensKeyCheck(key, parseRecord(existing.value)))) {
    throw new WrongSecretError(
      "The stored encryption key does not open this replica set's data (its record was replaced). Nothing was changed; open the replica with its secret.",
    );
  }
  return key;
}

function parseRecord(bytes: Uint8Array): EncryptionRecord {
  try {
    const r = JSON.parse(fromUtf8(bytes)) as EncryptionRecord;
    if (
      r.v === 1 &&
      typeof r.salt === 'string' &&
      typeof r.check === 'string' &&
      Number.isSafeInteger(r.iterations)
    ) {
      return r;
    }
  } catch {
    // fall through
  }
  throw new ChainIntegrityError(
    'The remote encryption record is malformed: it was tampered with or written by another program.',
  );
}

// WebCrypto's types want ArrayBuffer-backed views; ours always are (never SharedArrayBuffer).
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
