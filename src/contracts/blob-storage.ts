/** SHA-256 of a blob's bytes, as 64 lowercase hex digits. */
export type ContentId = string;

/**
 * Who holds a blob: `pid` names one live tab or worker instance (in the browser, the holder of the
 * Web Lock named after it); `id` distinguishes leases within it.
 */
export interface LeaseId {
  readonly id: string;
  readonly pid: string;
}

/** A readable, seekable handle on a blob. While open it keeps the blob alive, even with no lease. */
export interface BlobReader {
  readonly contentId: ContentId;
  /** Length in bytes. */
  readonly size: number;
  /** Bytes [offset, offset + length), clamped to the blob. */
  read(offset?: number, length?: number): Promise<Uint8Array>;
  /** The whole blob as a stream. */
  stream(): ReadableStream<Uint8Array>;
  /**
   * The whole blob in chunks, for `for await (const chunk of reader.chunks())`. Use it rather than
   * `for await` over {@link BlobReader.stream}: Safari's WebKit cannot iterate a stream that way.
   * Leaving the loop early cancels the rest.
   */
  chunks(): AsyncIterableIterator<Uint8Array>;
  /** Releases the hold. Idempotent; reads after it fail. */
  close(): Promise<void>;
}

/** What {@link BlobStorage.collectGarbage} did. */
export interface GarbageReport {
  /** Pids found dead whose leases were dropped. */
  readonly terminatedPids: string[];
  /** Content deleted because no lease, reader or reference held it. */
  readonly deleted: ContentId[];
}

/** Hooks the garbage collector asks. */
export interface GarbageOptions {
  /** Is this pid's instance still alive? Default: alive unless `advisePidTerminated` was called. */
  isPidAlive?(pid: string): boolean | Promise<boolean>;
  /** Does something other than a lease (a replica object) reference this content? Default: no. */
  isReferenced?(contentId: ContentId): boolean | Promise<boolean>;
}

/**
 * Content-addressed blob store with leases (seed 004, wezterm's `BlobStorage`). Leases are tracked
 * one by one, never as a per-content counter.
 */
export interface BlobStorage {
  /**
   * Stores `data` under its content id (deduplicated) and leases it to `lease`.
   * @throws ContentMismatchError if `data` does not hash to `contentId`.
   */
  store(contentId: ContentId, data: Uint8Array, lease: LeaseId): Promise<void>;
  /** Leases existing content. @throws ContentNotFoundError if absent. */
  leaseByContent(contentId: ContentId, lease: LeaseId): Promise<void>;
  /** The bytes. @throws ContentNotFoundError if absent. */
  getData(contentId: ContentId, lease: LeaseId): Promise<Uint8Array>;
  /** A handle that keeps the content alive until closed. @throws ContentNotFoundError if absent. */
  getReader(contentId: ContentId, lease: LeaseId): Promise<BlobReader>;
  /** Drops one lease. Unknown leases are ignored. */
  adviseLeaseDropped(lease: LeaseId, contentId: ContentId): Promise<void>;
  /** Records that `pid` is alive and a consumer of the store. */
  adviseOfPid(pid: string): Promise<void>;
  /** Records that `pid` has terminated: its leases no longer hold anything. */
  advisePidTerminated(pid: string): Promise<void>;
  /** Drops the leases of dead pids and deletes content nothing holds. */
  collectGarbage(options?: GarbageOptions): Promise<GarbageReport>;
}

// ---- remote blob GC (issue 12 item 4, docs/compaction.md) ----

/**
 * How old a remote blob may be for an upload to rely on finding it (one day): a push that finds
 * its blob on the server older than this uploads it again, refreshing its `Last-Modified`. Remote
 * blob GC never deletes a blob younger than twice this, whatever its policy says, so a blob a push
 * relies on cannot be collected while the push is under way.
 */
export const BLOB_REFRESH_AGE_MS = 86_400_000;

/** What one remote blob collection did ({@link RemoteBlobGcOptions}). */
export interface RemoteBlobGcReport {
  /** Blobs this call deleted (one already gone counts too: deleting is idempotent). */
  readonly deleted: number;
  /** Whether blobs remain to be examined: the next call continues after the last one examined. */
  readonly more: boolean;
  /**
   * Set when no collection could run, saying why (the remote cannot LIST, or states no object
   * ages): not an error, nothing was deleted.
   */
  readonly unsupported?: string;
}
