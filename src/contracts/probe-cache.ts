/**
 * Where a replica remembers what the capability probe found of a server, so that an ordinary page
 * load does not probe again (the probe writes scratch objects and provokes deliberate 412 / 404
 * answers). `src/remote` decides what an entry means and when it is stale; a store only keeps them.
 */

/**
 * One remembered probe result. `report` is opaque here (the HTTP remote's probe report, plain
 * structured-clonable data): the reader validates it, since an entry written by another version
 * of the library may have another shape.
 */
export interface ProbeCacheEntry {
  /** When the probe ran (ms since the epoch, by the clock of whoever wrote the entry). */
  readonly probedAt: number;
  readonly report: unknown;
}

/**
 * A small key-value store of {@link ProbeCacheEntry} by an opaque key (a SHA-256 digest of the
 * server URL, the data set's prefix and the credentials' identity: never a secret in clear).
 * Failures are reported by rejecting; callers treat a failing cache as an empty one.
 */
export interface ProbeCacheStore {
  get(key: string): Promise<ProbeCacheEntry | undefined>;
  put(key: string, entry: ProbeCacheEntry): Promise<void>;
  delete(key: string): Promise<void>;
}
