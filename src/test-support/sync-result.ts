/** Test support: the result of a sync that did nothing, for tests that report one by hand. */
import type { SyncResult } from '../contracts/replica.js';
import { emptySyncResult } from '../sync/sync.js';

/** A sync that pulled and pushed nothing. */
export const EMPTY_SYNC_RESULT: SyncResult = emptySyncResult();
