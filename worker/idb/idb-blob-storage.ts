import type {
  BlobReader,
  BlobStorage,
  ContentId,
  GarbageOptions,
  GarbageReport,
  LeaseId,
} from '../../src/contracts/blob-storage.js';
import { ContentMismatchError, ContentNotFoundError, StoreClosedError } from '../../src/contracts/errors.js';
import { copyBytes, readRange } from '../../src/core/bytes.js';
import { contentIdOf } from '../../src/core/content-id.js';
import { assertBytes, assertContentId, assertLeaseId, assertPid } from '../../src/core/validate.js';
import type { IDBPObjectStore } from 'idb';
import { quiet, type IdbConnection } from './connection.js';
import type { ChainsyncDb } from './schema.js';
import { streamChunks } from '../../src/core/stream-chunks.js';

type LeaseStore = IDBPObjectStore<
  ChainsyncDb,
  ('blobLeases' | 'blobPids' | 'blobContent')[],
  'blobLeases',
  'readwrite'
>;

/** Prefix of the lease ids that open readers hold under their instance's pid. */
const READER_LEASE = 'reader:';

function notFound(contentId: ContentId): ContentNotFoundError {
  return new ContentNotFoundError(`No blob with content id ${contentId}; store() it first.`);
}

/**
 * {@link BlobStorage} on IndexedDB. Leases are rows keyed by [contentId, pid, id], so each is held
 * once and dropped once (no counter). An open reader is itself a lease under this instance's
 * `pid`: it is visible to the garbage collector of every tab, and it dies with the instance.
 */
export class IdbBlobStorage implements BlobStorage {
  readonly #db: IdbConnection;
  /** The pid of this instance (tab or worker), which holds open readers' leases. */
  readonly pid: string;

  constructor(db: IdbConnection, pid: string = crypto.randomUUID()) {
    assertPid(pid);
    this.#db = db;
    this.pid = pid;
  }

  async store(contentId: ContentId, data: Uint8Array, lease: LeaseId): Promise<void> {
    assertContentId(contentId);
    assertBytes(data, 'data');
    assertLeaseId(lease);
    const actual = await contentIdOf(data);
    if (actual !== contentId) {
      throw new ContentMismatchError(`The data hashes to ${actual}, not ${contentId}; nothing was stored.`);
    }
    const bytes = copyBytes(data);
    await this.#db.write(['blobContent', 'blobLeases'], async (tx) => {
      const content = tx.objectStore('blobContent');
      if ((await content.getKey(contentId)) === undefined) quiet(content.put(bytes, contentId));
      quiet(tx.objectStore('blobLeases').put({ contentId, pid: lease.pid, id: lease.id }));
    });
  }

  async leaseByContent(contentId: ContentId, lease: LeaseId): Promise<void> {
    assertContentId(contentId);
    assertLeaseId(lease);
    await this.#addLease(contentId, lease.pid, lease.id);
  }

  async getData(contentId: ContentId, lease: LeaseId): Promise<Uint8Array> {
    assertContentId(contentId);
    assertLeaseId(lease);
    const data = await this.#db.read(['blobContent'], (tx) => tx.objectStore('blobContent').get(contentId));
    if (!data) throw notFound(contentId);
    return data;
  }

  async getReader(contentId: ContentId, lease: LeaseId): Promise<IdbBlobReader> {
    assertContentId(contentId);
    assertLeaseId(lease);
    const hold = `${READER_LEASE}${crypto.randomUUID()}`;
    const size = await this.#addLease(contentId, this.pid, hold);
    return new IdbBlobReader(contentId, size, this.#db, () =>
      this.#db.write(['blobLeases'], async (tx) => {
        quiet(tx.objectStore('blobLeases').delete([contentId, this.pid, hold]));
      }),
    );
  }

  async adviseLeaseDropped(lease: LeaseId, contentId: ContentId): Promise<void> {
    assertLeaseId(lease);
    assertContentId(contentId);
    await this.#db.write(['blobLeases'], async (tx) => {
      quiet(tx.objectStore('blobLeases').delete([contentId, lease.pid, lease.id]));
    });
  }

  async adviseOfPid(pid: string): Promise<void> {
    assertPid(pid);
    await this.#db.write(['blobPids'], async (tx) => {
      quiet(tx.objectStore('blobPids').delete(pid));
    });
  }

  async advisePidTerminated(pid: string): Promise<void> {
    assertPid(pid);
    await this.#db.write(['blobPids', 'blobLeases'], async (tx) => {
      quiet(tx.objectStore('blobPids').put(true, pid));
      await this.#dropLeasesOf(tx.objectStore('blobLeases'), [pid]);
    });
  }

  async collectGarbage(options: GarbageOptions = {}): Promise<GarbageReport> {
    const { pids, terminated } = await this.#db.read(['blobLeases', 'blobPids'], async (tx) => {
      const holders = new Set<string>();
      let cursor = await tx.objectStore('blobLeases').index('byPid').openKeyCursor(null, 'nextunique');
      while (cursor) {
        holders.add(cursor.key);
        cursor = await cursor.continue();
      }
      const flagged = await tx.objectStore('blobPids').getAllKeys();
      return { pids: [...holders], terminated: new Set(flagged) };
    });
    const isPidAlive = options.isPidAlive ?? ((pid: string) => !terminated.has(pid));
    const dead: string[] = [];
    for (const pid of pids) {
      // This instance is alive by definition: it is the one asking.
      if (pid !== this.pid && !(await isPidAlive(pid))) dead.push(pid);
    }
    const candidates = await this.#db.write(['blobContent', 'blobLeases'], async (tx) => {
      const leases = tx.objectStore('blobLeases');
      await this.#dropLeasesOf(leases, dead);
      const content = await tx.objectStore('blobContent').getAllKeys();
      const unleased: ContentId[] = [];
      for (const id of content) if (!(await hasLease(leases, id))) unleased.push(id);
      return unleased;
    });
    const unreferenced: ContentId[] = [];
    for (const id of candidates) {
      if (!(options.isReferenced && (await options.isReferenced(id)))) unreferenced.push(id);
    }
    const deleted = await this.#db.write(['blobContent', 'blobLeases'], async (tx) => {
      // Re-check inside the deleting transaction: a lease or reader may have arrived meanwhile.
      const leases = tx.objectStore('blobLeases');
      const gone: ContentId[] = [];
      for (const id of unreferenced) {
        if (await hasLease(leases, id)) continue;
        quiet(tx.objectStore('blobContent').delete(id));
        gone.push(id);
      }
      return gone;
    });
    return { terminatedPids: dead.sort(), deleted: deleted.sort() };
  }

  /** Adds a lease row if the content exists; returns the content's size. */
  async #addLease(contentId: ContentId, pid: string, id: string): Promise<number> {
    return this.#db.write(['blobContent', 'blobLeases'], async (tx) => {
      const data = await tx.objectStore('blobContent').get(contentId);
      if (!data) throw notFound(contentId);
      quiet(tx.objectStore('blobLeases').put({ contentId, pid, id }));
      return data.length;
    });
  }

  async #dropLeasesOf(leases: LeaseStore, pids: readonly string[]): Promise<void> {
    for (const pid of pids) {
      let cursor = await leases.index('byPid').openCursor(pid);
      while (cursor) {
        quiet(cursor.delete());
        cursor = await cursor.continue();
      }
    }
  }
}

async function hasLease(
  leases: { count(query: IDBKeyRange): Promise<number> },
  contentId: ContentId,
): Promise<boolean> {
  const range = IDBKeyRange.bound([contentId], [contentId, []]);
  return (await leases.count(range)) > 0;
}

/**
 * A reader over IndexedDB content. While open it holds a lease under its instance's pid, so the
 * content survives every tab's garbage collector until {@link IdbBlobReader.close}, or until the
 * instance dies (its pid's Web Lock goes).
 */
export class IdbBlobReader implements BlobReader {
  readonly contentId: ContentId;
  readonly size: number;
  readonly #db: IdbConnection;
  #release: (() => Promise<void>) | null;
  #loaded: Promise<Uint8Array> | null = null;

  constructor(contentId: ContentId, size: number, db: IdbConnection, release: () => Promise<void>) {
    this.contentId = contentId;
    this.size = size;
    this.#db = db;
    this.#release = release;
  }

  async read(offset = 0, length = this.size): Promise<Uint8Array> {
    this.#open();
    return readRange(await this.#bytes(), offset, length);
  }

  stream(): ReadableStream<Uint8Array> {
    this.#open();
    const whole = this.read();
    return new ReadableStream({
      async start(controller) {
        try {
          controller.enqueue(await whole);
          controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
    });
  }

  chunks(): AsyncIterableIterator<Uint8Array> {
    return streamChunks(this.stream());
  }

  async close(): Promise<void> {
    const release = this.#release;
    this.#release = null;
    this.#loaded = null;
    await release?.();
  }

  /** Content is immutable (addressed by its hash), so one load serves every read of this reader. */
  #bytes(): Promise<Uint8Array> {
    if (!this.#loaded) {
      const loading = this.#db
        .read(['blobContent'], (tx) => tx.objectStore('blobContent').get(this.contentId))
        .then((data) => {
          if (!data) throw notFound(this.contentId);
          return data;
        });
      loading.catch(() => {
        if (this.#loaded === loading) this.#loaded = null;
      });
      this.#loaded = loading;
    }
    return this.#loaded;
  }

  #open(): void {
    if (!this.#release) {
      throw new StoreClosedError(`This reader of ${this.contentId} is closed; call getReader() again.`);
    }
  }
}
