import { lazyPart } from '../core/lazy-part.js';

/**
 * The encryption code (`sealing.ts`: AES-256-GCM, PBKDF2, the encryption record): loaded when a
 * replica with a secret first syncs, or a sealed value or blob is first met.
 */
export const sealingPart = lazyPart(
  'the encryption code (AES-GCM sealing, PBKDF2 key setup)',
  () => import('./sealing.js'),
);
