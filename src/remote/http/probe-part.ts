import { lazyPart } from '../../core/lazy-part.js';

/**
 * The capability probe (`probe.ts`): loaded when a server is first probed, not when the probe
 * cache remembers its passed probe (a page load reopening a replica sends no probe).
 */
export const probePart = lazyPart('the server capability probe', () => import('./probe.js'));
