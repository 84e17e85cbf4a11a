import { proxy } from 'comlink';
import type {
  BlobReader,
  BlobStorage,
  ContentId,
  GarbageOptions,
  GarbageReport,
  LeaseId,
} from '../contracts/blob-storage.js';
import { StoreClosedError } from '../contracts/errors.js';
import { assertBytes } from '../core/validate.js';
import type { WorkerLink } from './worker-link.js';
import { streamChunks } from '../core/stream-chunks.js';

/** Options of {@link ClientBlobStorage.collectGarbage}. */
export interface BrowserGarbageOptions extends GarbageOptions {
  /**
   * Judge pids by their Web Locks: a pid is alive exactly while some tab or worker holds its lock
   * (`navigator.locks.query()`). Overrides `isPidAlive`.
   */
  readonly pidLocks?: boolean;
}

/** Bytes per chunk of {@link ClientBlobReader.stream}: one worker call each. */
const STREAM_CHUNK = 1024 * 1024;

/**
 * The store's BlobStorage, seen from the main thread. Readers are held in the worker as leases
 * under its pid, so they keep content alive for every tab's collector until closed.
 */
export class ClientBlobStorage implements BlobStorage {
  readonly #link: WorkerLink;
  /** The pid of this store's worker instance (its Web Lock is held while it lives). */
  readonly pid: string;

  /** Made by `openStore` over its worker's link, not by applications. @internal */
  constructor(link: WorkerLink, pid: string) {
    this.#link = link;
    this.pid = pid;
  }

  async store(contentId: ContentId, data: Uint8Array, lease: LeaseId): Promise<void> {
    // Checked before crossing: structured clone would lose what is wrong with a fake or detached array.
    assertBytes(data, 'data');
    return this.#link.request('blobs', 'store', contentId, data, lease);
  }

  leaseByContent(contentId: ContentId, lease: LeaseId): Promise<void> {
    return this.#link.request('blobs', 'leaseByContent', contentId, lease);
  }

  getData(contentId: ContentId, lease: LeaseId): Promise<Uint8Array> {
    return this.#link.request('blobs', 'getData', contentId, lease);
  }

  async getReader(contentId: ContentId, lease: LeaseId): Promise<ClientBlobReader> {
    const handle = await this.#link.call((r) => r.openReader(contentId, lease));
    return new ClientBlobReader(this.#link, handle.handle, handle.contentId, handle.size);
  }

  adviseLeaseDropped(lease: LeaseId, contentId: ContentId): Promise<void> {
    return this.#link.request('blobs', 'adviseLeaseDropped', lease, contentId);
  }

  adviseOfPid(pid: string): Promise<void> {
    return this.#link.request('blobs', 'adviseOfPid', pid);
  }

  advisePidTerminated(pid: string): Promise<void> {
    return this.#link.request('blobs', 'advisePidTerminated', pid);
  }

  collectGarbage(options: BrowserGarbageOptions = {}): Promise<GarbageReport> {
    const { isPidAlive, isReferenced, pidLocks = false } = options;
    return this.#link.call((r) =>
      r.collectGarbage({ pidLocks }, isPidAlive && proxy(isPidAlive), isReferenced && proxy(isReferenced)),
    );
  }
}

/** Releases the hold of a reader dropped without close(), when it is garbage collected. */
const unclosed = new FinalizationRegistry<{ link: WorkerLink; handle: number }>(({ link, handle }) => {
  link.call((r) => r.readerClose(handle)).catch(() => undefined);
});

/**
 * A reader whose hold lives in the worker until {@link ClientBlobReader.close} (or, as a safety
 * net, until the reader is garbage collected, or its worker dies).
 */
export class ClientBlobReader implements BlobReader {
  readonly contentId: ContentId;
  readonly size: number;
  readonly #link: WorkerLink;
  readonly #handle: number;
  #closed = false;

  /** Made by `ClientBlobStorage.open` over the worker's reader handle. @internal */
  constructor(link: WorkerLink, handle: number, contentId: ContentId, size: number) {
    this.#link = link;
    this.#handle = handle;
    this.contentId = contentId;
    this.size = size;
    unclosed.register(this, { link, handle }, this);
  }

  async read(offset?: number, length?: number): Promise<Uint8Array> {
    this.#open();
    return this.#link.call((r) => r.readerRead(this.#handle, offset, length));
  }

  /** The blob in chunks, one worker call each, pulled as the consumer reads. */
  stream(): ReadableStream<Uint8Array> {
    this.#open();
    let at = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (at >= this.size) {
          controller.close();
          return;
        }
        const chunk = await this.read(at, STREAM_CHUNK);
        at = chunk.length > 0 ? at + chunk.length : this.size;
        if (chunk.length > 0) controller.enqueue(chunk);
      },
    });
  }

  chunks(): AsyncIterableIterator<Uint8Array> {
    return streamChunks(this.stream());
  }

  /** The whole content as a Blob (a copy: the hold ends with {@link ClientBlobReader.close}). */
  async blob(type = ''): Promise<Blob> {
    return new Blob([(await this.read()) as Uint8Array<ArrayBuffer>], { type });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    unclosed.unregister(this);
    await this.#link.call((r) => r.readerClose(this.#handle));
  }

  #open(): void {
    if (this.#closed) {
      throw new StoreClosedError(`This reader of ${this.contentId} is closed; call getReader() again.`);
    }
  }
}
