/** chainsync's published encryption test vector (see crypto.test.ts and crypto.node.test.ts). */
export const VECTOR = {
  secret: 'correct horse battery staple',
  salt: '000102030405060708090a0b0c0d0e0f',
  iterations: 600_000,
  iv: '000102030405060708090a0b',
  plaintext: 'chainsync test vector',
  aad: 'chainsync/v1/segment/00000000-0000-4000-8000-000000000001/00000000-0000-4000-8000-000000000003/00000000-0000-4000-8000-000000000002',
  sealed:
    '02000102030405060708090a0b6daee9e81fc745e28f09f326cfc9a8cb80fac944ac1d3172edb4911de6473276a7a308642f',
};
