/**
 * An {@link AtomicRemoteBackend} wrapper that behaves like a server with a request body limit:
 * writes of more than `maxObjectBytes` bytes fail as the HTTP backend reports a 413 (a
 * determinate `REMOTE_FAILED` with status 413: nothing was written), and — unless told to keep
 * quiet, as a server that states no limit — it reports the limit through `maxObjectBytes()`.
 * Test support only, not public API.
 */
import type {
  AtomicRemoteBackend,
  ConditionalDelete,
  ConditionalPut,
  ObjectVersion,
  VersionedObject,
} from '../contracts/remote-backend.js';
import { DeterminateRemoteError } from '../contracts/errors.js';

/** Options of {@link BodyLimitBackend}. */
export interface BodyLimitOptions {
  /** The largest write accepted, in bytes. */
  readonly maxObjectBytes: number;
  /** Whether `maxObjectBytes()` states the limit (default true); false: a server that says nothing. */
  readonly advertise?: boolean;
}

export class BodyLimitBackend implements AtomicRemoteBackend {
  readonly inner: AtomicRemoteBackend;
  readonly #limit: number;
  readonly #advertise: boolean;
  /** Writes refused for their size. */
  refused = 0;
  /** The largest write accepted so far, in bytes. */
  largestWrite = 0;

  constructor(inner: AtomicRemoteBackend, options: BodyLimitOptions) {
    this.inner = inner;
    this.#limit = options.maxObjectBytes;
    this.#advertise = options.advertise ?? true;
    if (inner.list) this.list = (prefix) => inner.list!(prefix);
  }

  list?: (prefix: string) => Promise<string[]>;

  async maxObjectBytes(): Promise<number | null> {
    return this.#advertise ? this.#limit : null;
  }

  #check(key: string, data: Uint8Array): void {
    if (data.length > this.#limit) {
      this.refused++;
      // The message the HTTP backend gives for the reference server's 413.
      throw new DeterminateRemoteError(
        `PUT ${key}: the server answered 413 (The body exceeds the server limit (--max-body-bytes).); nothing was changed.`,
        { status: 413 },
      );
    }
    this.largestWrite = Math.max(this.largestWrite, data.length);
  }

  async upload(key: string, data: Uint8Array): Promise<void> {
    this.#check(key, data);
    return this.inner.upload(key, data);
  }

  async uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut): Promise<ObjectVersion> {
    this.#check(key, data);
    return this.inner.uploadConditional(key, data, condition);
  }

  download(key: string): Promise<Uint8Array | null> {
    return this.inner.download(key);
  }
  downloadVersioned(key: string): Promise<VersionedObject | null> {
    return this.inner.downloadVersioned(key);
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  objectVersion(key: string): Promise<ObjectVersion | null> {
    return this.inner.objectVersion(key);
  }
  deleteConditional(key: string, condition: ConditionalDelete): Promise<void> {
    return this.inner.deleteConditional(key, condition);
  }
}
