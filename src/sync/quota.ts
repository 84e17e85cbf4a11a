/**
 * A pull refused by the browser for lack of space (issue 16 item 4). The store's commit is atomic,
 * so nothing of the refused page (or snapshot) was written: the replica stands where the previous
 * commit left it and the next sync goes on from there. What the caller lacks is the size of the
 * problem; this turns the store's bare QUOTA_EXCEEDED into one that states it.
 */
import type { ReplicaWrite } from '../contracts/replica-store.js';
import { isChainsyncError, QuotaExceededError, type QuotaDetails } from '../contracts/errors.js';
import { utf8 } from '../core/bytes.js';
import { estimateStorage, formatBytes, type StorageEstimator } from '../core/storage-estimate.js';

/**
 * About how many bytes `write` asks the store for: its new objects, shadows and queued operations
 * as JSON. Stores keep roughly this (IndexedDB's structured clone is of the same order, before any
 * compression the browser applies), which is what the user has to free.
 */
export function writeBytes(write: ReplicaWrite): number {
  const { putObjects = [], putShadows = [], appendPending = [], state } = write;
  return utf8(JSON.stringify([putObjects, putShadows, appendPending, state ?? null])).byteLength;
}

/**
 * `error` as it should reach the caller of a sync whose commit of `what` (e.g. "3 versions") was
 * `write`: a QUOTA_EXCEEDED gains the bytes needed and the origin's usage and quota then, and says
 * what to do; anything else is returned unchanged.
 */
export async function explainQuotaError(
  error: unknown,
  what: string,
  write: ReplicaWrite,
  estimate: StorageEstimator = estimateStorage,
): Promise<unknown> {
  if (!isChainsyncError(error, 'QUOTA_EXCEEDED')) return error;
  const neededBytes = writeBytes(write);
  const use = await estimate().catch(() => null);
  const details: QuotaDetails = use ? { neededBytes, usage: use.usage, quota: use.quota } : { neededBytes };
  const fullness = use
    ? `the site uses ${formatBytes(use.usage)} of the ${formatBytes(use.quota)} the browser allows it`
    : 'the browser does not say how much it uses or allows';
  return new QuotaExceededError(
    `The browser refused to store the pull for lack of space: applying ${what} needed about ${formatBytes(neededBytes)} (${neededBytes} bytes), and ${fullness}. ` +
      'Nothing of it was written: the local data is as it was before it, and the next sync goes on from there. ' +
      'Free space (delete data of other sites or apps, or local data this app no longer needs), or ask for persistent storage (navigator.storage.persist()), then sync again.',
    details,
    { cause: error },
  );
}
