import type { ContentId } from '../contracts/blob-storage.js';
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { ContentMismatchError, ContentNotFoundError } from '../contracts/errors.js';
import { contentIdOf } from '../core/content-id.js';
import { assertBytes, assertContentId } from '../core/validate.js';
import { objectRoot } from './object-keys.js';
import { RemoteIo, type RetryOptions } from './remote-io.js';

/** Options of {@link RemoteBlobs}. */
export interface RemoteBlobsOptions {
  /** Where the blobs live in the bucket, e.g. `"myapp/blobs"`. */
  readonly prefix: string;
  readonly retry?: RetryOptions;
}

/**
 * Content-addressed blob objects `<prefix>/<contentId>` (SHA-256, lowercase hex) on any
 * {@link AtomicRemoteBackend}. Objects are immutable: an upload is create-only
 * (`If-None-Match: *`), and finding the object already there means the same bytes are stored, so
 * concurrent and repeated uploads are safe and an indeterminate upload is simply checked for.
 * Every download is hashed and compared with its content id, so a corrupted or substituted object
 * is an error, never returned. Leases and garbage collection stay local (see BlobStorage); nothing
 * here deletes, because a DELETE could race with another replica's upload of the same content.
 */
export class RemoteBlobs {
  readonly #io: RemoteIo;
  readonly #root: string;

  constructor(backend: AtomicRemoteBackend, options: RemoteBlobsOptions) {
    this.#root = objectRoot(options?.prefix);
    this.#io = new RemoteIo(backend, options.retry);
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
    if (!(await this.#io.idempotent(() => this.#io.backend.exists(name)))) {
      await this.#io.createImmutable(name, data);
    }
    return actual;
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
