import { BLOB_REFRESH_AGE_MS, type ContentId, type RemoteBlobGcReport } from '../contracts/blob-storage.js';
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import {
  ContentMismatchError,
  ContentNotFoundError,
  InvalidArgumentError,
  UnsupportedServerError,
} from '../contracts/errors.js';
import { contentIdOf } from '../core/content-id.js';
import { assertBytes, assertContentId, isPositiveInteger } from '../core/validate.js';
import { listedOrNull } from './listing.js';
import { objectRoot } from './object-keys.js';
import { RemoteIo, type RetryOptions } from './remote-io.js';

/** Why a remote without a listing has no blob GC. */
const NO_LIST = 'the remote cannot LIST, so its blobs cannot be collected';

/** Options of {@link RemoteBlobs}. */
export interface RemoteBlobsOptions {
  /** Where the blobs live in the bucket, e.g. `"myapp/blobs"`. */
  readonly prefix: string;
  readonly retry?: RetryOptions;
  /** The clock blob ages are measured with, in ms since the epoch (default `Date.now`; tests inject one). */
  readonly now?: () => number;
}

/** One call of {@link RemoteBlobs.collectGarbage}. */
export interface RemoteBlobGcOptions {
  /**
   * The remote names (content ids) still referenced. Called once per call, AFTER the listing: a
   * blob listed but not referenced then was uploaded before the read (see docs/compaction.md).
   */
  readonly referenced: () => Promise<ReadonlySet<ContentId>>;
  /**
   * Unreferenced blobs are deleted only once older than this (ms; never less than twice
   * {@link BLOB_REFRESH_AGE_MS}, whatever is asked).
   */
  readonly graceMs: number;
  /** Most blobs one call examines (one HEAD, maybe a DELETE each); default 256. */
  readonly maxDeletes?: number;
}

/**
 * Content-addressed blob objects `<prefix>/<contentId>` (SHA-256, lowercase hex) on any
 * {@link AtomicRemoteBackend}. Objects are immutable: an upload is create-only
 * (`If-None-Match: *`), and finding the object already there means the same bytes are stored, so
 * concurrent and repeated uploads are safe and an indeterminate upload is simply checked for.
 * Every download is hashed and compared with its content id, so a corrupted or substituted object
 * is an error, never returned.
 *
 * Garbage: {@link RemoteBlobs.collectGarbage} deletes blobs nothing references that are older
 * than a grace period, and {@link RemoteBlobs.put} re-uploads a blob it finds present but older
 * than {@link BLOB_REFRESH_AGE_MS}, so a blob an upload relies on is always young (the safety
 * argument is in docs/compaction.md, "Remote blob GC").
 */
export class RemoteBlobs {
  readonly #io: RemoteIo;
  readonly #root: string;
  readonly #now: () => number;
  /** The server states no object ages (no `Last-Modified`): found once, then plain HEADs. */
  #agesUnknown = false;
  /** Where the last collection stopped (a key of the listing): the next one continues after it. */
  #cursor = '';

  constructor(backend: AtomicRemoteBackend, options: RemoteBlobsOptions) {
    this.#root = objectRoot(options?.prefix);
    this.#io = new RemoteIo(backend, options.retry);
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidArgumentError(
        'options.now',
        'expected a function returning milliseconds since the epoch.',
      );
    }
    this.#now = options.now ?? Date.now;
  }

  /**
   * Uploads `data` unless its content is already stored. Returns its content id.
   * @throws ContentMismatchError if `contentId` is given and `data` does not hash to it (nothing uploaded).
   */
  async put(data: Uint8Array, contentId?: ContentId): Promise<ContentId> {
    assertBytes(data, 'data');
    if (contentId !== undefined) assertContentId(contentId);
    const actual = await contentIdOf(data);
    if (contentId !== undefined && actual !== contentId) {
      throw new ContentMismatchError(`The data hashes to ${actual}, not ${contentId}; nothing was uploaded.`);
    }
    const name = this.#root + actual;
    // A HEAD first saves uploading bytes the server already has (the common case for shared blobs).
    const modified = await this.#modified(name);
    if (modified === null) await this.#io.createImmutable(name, data);
    else if (this.#old(modified)) {
      // Present but old: it may be garbage about to be collected. The same bytes again, written
      // unconditionally (harmless: content-addressed), make it young for the push relying on it.
      await this.#io.idempotent(() => this.#io.backend.upload(name, data));
    }
    return actual;
  }

  /**
   * Makes sure a blob a push relies on is present and young, when the caller does not hold its
   * bytes (a reference copied from another replica): a blob older than
   * {@link BLOB_REFRESH_AGE_MS} is downloaded, verified, and uploaded again.
   * @returns false when the blob is absent (nothing to refresh).
   * @throws ContentMismatchError if the stored bytes are corrupted (nothing is uploaded).
   */
  async refresh(contentId: ContentId): Promise<boolean> {
    assertContentId(contentId);
    const name = this.#root + contentId;
    const modified = await this.#modified(name);
    if (modified === null) return false;
    if (this.#old(modified)) {
      let data: Uint8Array;
      try {
        data = await this.get(contentId);
      } catch (error) {
        if (error instanceof ContentNotFoundError) return false; // collected meanwhile
        throw error;
      }
      await this.#io.idempotent(() => this.#io.backend.upload(name, data));
    }
    return true;
  }

  /**
   * One bounded pass of remote blob garbage collection: lists the blobs, then asks which are
   * `referenced`, then for each unreferenced one (at most `maxDeletes`, continuing where the last
   * call stopped) reads its age with a HEAD and deletes it when older than the grace period. A
   * DELETE without `If-Match` is safe: a blob never changes, and a re-upload is the same bytes.
   * Without LIST or object ages on the remote, nothing runs: the report says why (`unsupported`).
   */
  async collectGarbage(options: RemoteBlobGcOptions): Promise<RemoteBlobGcReport> {
    const { referenced, graceMs, maxDeletes = 256 } = options ?? {};
    if (typeof referenced !== 'function') {
      throw new InvalidArgumentError(
        'options.referenced',
        'expected a function returning the referenced content ids.',
      );
    }
    if (typeof graceMs !== 'number' || !Number.isSafeInteger(graceMs) || graceMs < 0) {
      throw new InvalidArgumentError(
        'options.graceMs',
        `expected a whole number of milliseconds, got ${String(graceMs)}.`,
      );
    }
    if (!isPositiveInteger(maxDeletes)) {
      throw new InvalidArgumentError(
        'options.maxDeletes',
        `expected a whole number of at least 1, got ${String(maxDeletes)}.`,
      );
    }
    const backend = this.#io.backend;
    const list = backend.list?.bind(backend);
    if (!list)
      return {
        deleted: 0,
        more: false,
        unsupported: NO_LIST,
      };
    if (!backend.lastModified || this.#agesUnknown) {
      return { deleted: 0, more: false, unsupported: 'the remote states no object ages (Last-Modified)' };
    }
    const listed = await listedOrNull(() => this.#io.idempotent(() => list(this.#root)));
    if (!listed) return { deleted: 0, more: false, unsupported: NO_LIST };
    const names = listed.map((key) => key.slice(this.#root.length)).filter(isContentIdName);
    // Read AFTER listing: a blob uploaded for a version that lands later is listed young (kept).
    const live = await referenced();
    const candidates = names.filter((name) => !live.has(name));
    // Continue after the last blob examined; from the start once past the end.
    let start = candidates.findIndex((name) => name > this.#cursor);
    if (start < 0) start = 0;
    const batch = candidates.slice(start, start + maxDeletes);
    const grace = Math.max(graceMs, 2 * BLOB_REFRESH_AGE_MS);
    let deleted = 0;
    for (const name of batch) {
      const modified = await this.#modified(this.#root + name);
      if (this.#agesUnknown)
        return { deleted, more: false, unsupported: 'the remote states no object ages (Last-Modified)' };
      // Checked just before the DELETE: a re-upload since the listing made it young again.
      if (modified === null || this.#now() - modified <= grace) continue;
      await this.#io.idempotent(() => backend.delete(this.#root + name));
      deleted++;
    }
    const more = start + batch.length < candidates.length;
    this.#cursor = more ? (batch.at(-1) ?? '') : '';
    return { deleted, more };
  }

  /** When `name` was written (`null`: absent); +Infinity when the server states no ages (never old then). */
  async #modified(name: string): Promise<number | null> {
    const backend = this.#io.backend;
    const lastModified = backend.lastModified?.bind(backend);
    if (lastModified && !this.#agesUnknown) {
      try {
        return await this.#io.idempotent(() => lastModified(name));
      } catch (error) {
        if (!(error instanceof UnsupportedServerError)) throw error;
        this.#agesUnknown = true;
      }
    }
    return (await this.#io.idempotent(() => backend.exists(name))) ? Number.POSITIVE_INFINITY : null;
  }

  /** Old enough that a collection may be about to delete it. */
  #old(modified: number): boolean {
    return this.#now() - modified > BLOB_REFRESH_AGE_MS;
  }

  /**
   * The bytes of `contentId`, verified against it.
   * @throws ContentNotFoundError if absent; ContentMismatchError if the stored bytes are corrupted.
   */
  async get(contentId: ContentId): Promise<Uint8Array> {
    assertContentId(contentId);
    const name = this.#root + contentId;
    const data = await this.#io.idempotent(() => this.#io.backend.download(name));
    if (!data)
      throw new ContentNotFoundError(`No blob ${contentId} on the server; upload it with put() first.`);
    const actual = await contentIdOf(data);
    if (actual !== contentId) {
      throw new ContentMismatchError(
        `The server returned bytes hashing to ${actual} for blob ${contentId}: the object is corrupted. Nothing was returned.`,
      );
    }
    return data;
  }

  /** Whether `contentId` is stored (not verified: use `get` to read it). */
  async has(contentId: ContentId): Promise<boolean> {
    assertContentId(contentId);
    const name = this.#root + contentId;
    return this.#io.idempotent(() => this.#io.backend.exists(name));
  }
}

/** A blob's own name under the root (64 lowercase hex), not a nested key. */
function isContentIdName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}
