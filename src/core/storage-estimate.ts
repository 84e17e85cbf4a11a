/**
 * The origin's storage use, as the browser's Storage API reports it (issue 16 item 4): read for
 * the replica's status and to say, when a write is refused for lack of space, how full it was.
 */
import type { StorageUse } from '../contracts/replica.js';

/** Reads the origin's {@link StorageUse}; `null` where the platform cannot tell. */
export type StorageEstimator = () => Promise<StorageUse | null>;

/** The part of the browser's `StorageManager` read here (missing members are allowed). */
export interface StorageManagerLike {
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  persisted?: () => Promise<boolean>;
}

/** The platform's `navigator.storage` (in a page or a worker), or `undefined` (Node, old browsers). */
function platformStorage(): StorageManagerLike | undefined {
  return (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage;
}

/**
 * The origin's storage use from `manager` (default: the platform's `navigator.storage`). `null`
 * where `estimate()` is missing, fails or reports no figures: a status must not fail because the
 * browser cannot say. `persisted` is `null` where `persisted()` is missing or fails.
 */
export async function estimateStorage(
  manager: StorageManagerLike | undefined = platformStorage(),
): Promise<StorageUse | null> {
  if (typeof manager?.estimate !== 'function') return null;
  let estimate: { usage?: number; quota?: number };
  try {
    estimate = await manager.estimate();
  } catch {
    return null;
  }
  const { usage, quota } = estimate;
  if (typeof usage !== 'number' || typeof quota !== 'number') return null;
  let persisted: boolean | null = null;
  if (typeof manager.persisted === 'function') {
    try {
      persisted = await manager.persisted();
    } catch {
      // unknown, not "not persisted"
    }
  }
  return { usage, quota, persisted };
}

/** Two readings say the same (so a status need not be told again). */
export function sameStorageUse(a: StorageUse | null, b: StorageUse | null): boolean {
  if (a === null || b === null) return a === b;
  return a.usage === b.usage && a.quota === b.quota && a.persisted === b.persisted;
}

/** `bytes` for people: `1.2 MB`, `300 MB`, `512 B` (decimal units, as browsers show storage). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = unit === 0 || value >= 100 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}
