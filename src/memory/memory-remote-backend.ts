import type {
  AtomicRemoteBackend,
  ConditionalDelete,
  ConditionalPut,
  ListedObject,
  ObjectVersion,
  VersionedObject,
} from '../contracts/remote-backend.js';
import { InvalidArgumentError, PreconditionFailedError } from '../contracts/errors.js';
import { copyBytes } from '../core/bytes.js';
import { assertConditionalDelete, assertConditionalPut } from '../core/remote-rules.js';
import { uniqueTokens } from '../core/unique.js';
import { assertBytes, assertKey, assertPrefix } from '../core/validate.js';

/** Options of {@link MemoryRemoteBackend}. */
export interface MemoryRemoteBackendOptions {
  /** The server's clock, stamping each write's {@link MemoryRemoteBackend.lastModified} (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * The reference {@link AtomicRemoteBackend}: objects in a Map with strong ETags unique per write,
 * so a version taken before writes A, B, A stays stale (no ABA).
 */
export class MemoryRemoteBackend implements AtomicRemoteBackend {
  readonly #objects = new Map<string, VersionedObject>();
  /** When each object was last written, by {@link MemoryRemoteBackendOptions.now}. */
  readonly #modified = new Map<string, number>();
  readonly #nextTag = uniqueTokens();
  readonly #now: () => number;

  constructor(options: MemoryRemoteBackendOptions = {}) {
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidArgumentError(
        'options.now',
        'expected a function returning milliseconds since the epoch.',
      );
    }
    this.#now = options.now ?? Date.now;
  }

  async download(key: string): Promise<Uint8Array | null> {
    return (await this.downloadVersioned(key))?.data ?? null;
  }

  async downloadVersioned(key: string): Promise<VersionedObject | null> {
    assertKey(key);
    const object = this.#objects.get(key);
    return object ? { data: copyBytes(object.data), version: object.version } : null;
  }

  async upload(key: string, data: Uint8Array): Promise<void> {
    assertKey(key);
    assertBytes(data, 'data');
    this.#write(key, data);
  }

  async exists(key: string): Promise<boolean> {
    assertKey(key);
    return this.#objects.has(key);
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    this.#objects.delete(key);
    this.#modified.delete(key);
  }

  async lastModified(key: string): Promise<number | null> {
    assertKey(key);
    return this.#modified.get(key) ?? null;
  }

  async list(prefix: string): Promise<string[]> {
    assertPrefix(prefix);
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async listObjects(prefix: string): Promise<ListedObject[]> {
    const keys = await this.list(prefix);
    return keys.map((key) => ({ key, bytes: this.#objects.get(key)?.data.byteLength ?? 0 }));
  }

  async objectVersion(key: string): Promise<ObjectVersion | null> {
    assertKey(key);
    return this.#objects.get(key)?.version ?? null;
  }

  async uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut): Promise<ObjectVersion> {
    assertKey(key);
    assertBytes(data, 'data');
    assertConditionalPut(condition);
    const current = this.#objects.get(key);
    if ('ifAbsent' in condition ? current !== undefined : current?.version !== condition.ifVersion) {
      throw new PreconditionFailedError(
        `${key}: ${'ifAbsent' in condition ? 'already exists' : 'is not at the expected version'}; nothing was written.`,
        { status: 412 },
      );
    }
    return this.#write(key, data);
  }

  async deleteConditional(key: string, condition: ConditionalDelete): Promise<void> {
    assertKey(key);
    assertConditionalDelete(condition);
    if (this.#objects.get(key)?.version !== condition.ifVersion) {
      throw new PreconditionFailedError(`${key}: not at the expected version; nothing was deleted.`, {
        status: 412,
      });
    }
    this.#objects.delete(key);
    this.#modified.delete(key);
  }

  #write(key: string, data: Uint8Array): ObjectVersion {
    const version = `"${this.#nextTag()}"`;
    this.#objects.set(key, { data: copyBytes(data), version });
    // Whole seconds, as HTTP's Last-Modified gives them: cases behave the same on a real server.
    this.#modified.set(key, Math.floor(this.#now() / 1000) * 1000);
    return version;
  }
}
