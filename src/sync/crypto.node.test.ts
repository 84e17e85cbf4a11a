/** Cross-checks the published test vector with an independent implementation: node:crypto. */
import { createCipheriv, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VECTOR } from '../test-support/crypto-test-vector.js';

describe('encryption test vector (node:crypto)', () => {
  it('node:crypto PBKDF2-SHA256 + AES-256-GCM produces the same sealed bytes', () => {
    const key = pbkdf2Sync(VECTOR.secret, Buffer.from(VECTOR.salt, 'hex'), VECTOR.iterations, 32, 'sha256');
    const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(VECTOR.iv, 'hex'));
    cipher.setAAD(Buffer.from(VECTOR.aad));
    const body = Buffer.concat([
      cipher.update(Buffer.from(VECTOR.plaintext)),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    expect('02' + VECTOR.iv + body.toString('hex')).toBe(VECTOR.sealed);
  });
});
