import type {
  BlobReader,
  BlobStorage,
  ContentId,
  GarbageOptions,
  GarbageReport,
  LeaseId,
} from '../contracts/blob-storage.js';
import { ContentMismatchError, ContentNotFoundError, StoreClosedError } from '../contracts/errors.js';
import { copyBytes, readRange } from '../core/bytes.js';
import { contentIdOf } from '../core/content-id.js';
import { assertBytes, assertContentId, assertLeaseId, assertPid } from '../core/validate.js';
import { streamChunks } from '../core/stream-chunks.js';

/** One lease, keyed so the same lease held twice is still one lease (a set, never a counter). */
function leaseKey(lease: LeaseId): string {
  return JSON.stringify([lease.pid, lease.id]);
}

/** The reference {@link BlobStorage}: content in a Map, leases and open readers held one by one. */
export class MemoryBlobStorage implements BlobStorage {
  readonly #content = new Map<ContentId, Uint8Array>();
  readonly #leases = new Map<ContentId, Map<string, LeaseId>>();
  readonly #readers = new Map<ContentId, Set<object>>();
  readonly #terminated = new Set<string>();

  async store(contentId: ContentId, data: Uint8Array, lease: LeaseId): Promise<void> {
    assertContentId(contentId);
    assertBytes(data, 'data');
    assertLeaseId(lease);
    const actual = await contentIdOf(data);
    if (actual !== contentId) {
      throw new ContentMismatchError(`The data hashes to ${actual}, not ${contentId}; nothing was stored.`);
    }
    if (!this.#content.has(contentId)) this.#content.set(contentId, copyBytes(data));
    this.#addLease(contentId, lease);
  }

  async leaseByContent(contentId: ContentId, lease: LeaseId): Promise<void> {
    assertContentId(contentId);
    assertLeaseId(lease);
    this.#require(contentId);
    this.#addLease(contentId, lease);
  }

  async getData(contentId: ContentId, lease: LeaseId): Promise<Uint8Array> {
    assertContentId(contentId);
    assertLeaseId(lease);
    return copyBytes(this.#require(contentId));
  }

  async getReader(contentId: ContentId, lease: LeaseId): Promise<BlobReader> {
    assertContentId(contentId);
    assertLeaseId(lease);
    const data = this.#require(contentId);
    const hold = {};
    const holds = this.#readers.get(contentId) ?? new Set();
    holds.add(hold);
    this.#readers.set(contentId, holds);
    return new MemoryBlobReader(contentId, data, () => {
      holds.delete(hold);
      if (holds.size === 0) this.#readers.delete(contentId);
    });
  }

  async adviseLeaseDropped(lease: LeaseId, contentId: ContentId): Promise<void> {
    assertLeaseId(lease);
    assertContentId(contentId);
    const leases = this.#leases.get(contentId);
    leases?.delete(leaseKey(lease));
    if (leases?.size === 0) this.#leases.delete(contentId);
  }

  async adviseOfPid(pid: string): Promise<void> {
    assertPid(pid);
    this.#terminated.delete(pid);
  }

  async advisePidTerminated(pid: string): Promise<void> {
    assertPid(pid);
    this.#terminated.add(pid);
    this.#dropLeasesOf(new Set([pid]));
  }

  async collectGarbage(options: GarbageOptions = {}): Promise<GarbageReport> {
    const isPidAlive = options.isPidAlive ?? ((pid: string) => !this.#terminated.has(pid));
    const pids = new Set<string>();
    for (const leases of this.#leases.values()) for (const lease of leases.values()) pids.add(lease.pid);
    const dead = new Set<string>();
    for (const pid of pids) if (!(await isPidAlive(pid))) dead.add(pid);
    this.#dropLeasesOf(dead);
    const deleted: ContentId[] = [];
    for (const contentId of [...this.#content.keys()]) {
      if (this.#leases.has(contentId) || this.#readers.has(contentId)) continue;
      if (options.isReferenced && (await options.isReferenced(contentId))) continue;
      // Re-check after the await: a lease or reader may have arrived meanwhile.
      if (this.#leases.has(contentId) || this.#readers.has(contentId)) continue;
      this.#content.delete(contentId);
      deleted.push(contentId);
    }
    return { terminatedPids: [...dead].sort(), deleted: deleted.sort() };
  }

  #require(contentId: ContentId): Uint8Array {
    const data = this.#content.get(contentId);
    if (!data) throw new ContentNotFoundError(`No blob with content id ${contentId}; store() it first.`);
    return data;
  }

  #addLease(contentId: ContentId, lease: LeaseId): void {
    const leases = this.#leases.get(contentId) ?? new Map<string, LeaseId>();
    leases.set(leaseKey(lease), { id: lease.id, pid: lease.pid });
    this.#leases.set(contentId, leases);
  }

  #dropLeasesOf(pids: Set<string>): void {
    if (pids.size === 0) return;
    for (const [contentId, leases] of this.#leases) {
      for (const [key, lease] of leases) if (pids.has(lease.pid)) leases.delete(key);
      if (leases.size === 0) this.#leases.delete(contentId);
    }
  }
}

/** A reader over bytes already in memory; `release` gives up its hold on the content. */
export class MemoryBlobReader implements BlobReader {
  readonly contentId: ContentId;
  readonly size: number;
  readonly #data: Uint8Array;
  #release: (() => void) | null;

  constructor(contentId: ContentId, data: Uint8Array, release: () => void) {
    this.contentId = contentId;
    this.size = data.length;
    this.#data = data;
    this.#release = release;
  }

  async read(offset = 0, length = this.size): Promise<Uint8Array> {
    this.#open();
    return readRange(this.#data, offset, length);
  }

  stream(): ReadableStream<Uint8Array> {
    this.#open();
    const data = copyBytes(this.#data);
    return new ReadableStream({
      start(controller) {
        controller.enqueue(data);
        controller.close();
      },
    });
  }

  chunks(): AsyncIterableIterator<Uint8Array> {
    return streamChunks(this.stream());
  }

  async close(): Promise<void> {
    this.#release?.();
    this.#release = null;
  }

  #open(): void {
    if (!this.#release)
      throw new StoreClosedError(`This reader of ${this.contentId} is closed; call getReader() again.`);
  }
}
