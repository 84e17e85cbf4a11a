/**
 * The directory of objects behind the reference server, crash-safe and atomic per key.
 *
 * Layout under `dir`:
 * - `objects/<sha256(key) in hex>`: one file per object. Naming files by a hash keeps any key
 *   (`/`, case, length up to 1 KiB) off the file system's path rules and out of traversal's reach.
 * - `tmp/`: writes in progress. Emptied at start-up, so a crash mid-write leaves nothing behind.
 * - `server.lock.<generation>`: the lock of the server using the directory (see directory-lock.ts);
 *   a second server is refused.
 *
 * An object file is `MAGIC`, a 4-byte big-endian length, a JSON header `{ key, etag }`, then the
 * bytes. ETag and data live in the same file, written to `tmp/`, fsynced, then renamed into place
 * (and the directory fsynced) before the write is acknowledged: after `kill -9` (or power loss) an
 * object is either the old file or the new one, whole, and its ETag always describes its bytes.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { acquireDirectoryLock, type DirectoryLock, type LockTimings } from './directory-lock.js';
import { KeyedMutex } from './keyed-mutex.js';
import { openUnless } from './error-code.js';

const MAGIC = Buffer.from('CSOBJv1\n', 'latin1');
const PREFIX_BYTES = MAGIC.length + 4;
const OBJECT_FILE_NAME = /^[0-9a-f]{64}$/;

/** Decides from the current ETag (`null`: absent) whether a write or delete may proceed. */
export type Precondition = (currentETag: string | null) => boolean;

/** An object opened for reading: a consistent snapshot even if the key is overwritten meanwhile. */
export interface StoredObject {
  readonly etag: string;
  readonly size: number;
  /** When the object was written (its file's modification time), for `Last-Modified`. */
  readonly modified: Date;
  /** Streams the bytes and closes the file when done. Call at most once, or call `close()`. */
  body(): Readable;
  /** Releases the file without reading it. Harmless after `body()`. */
  close(): Promise<void>;
}

/** Outcome of {@link ObjectStore.write}. */
export type WriteResult =
  | { readonly committed: true; readonly etag: string; readonly created: boolean }
  | { readonly committed: false; readonly currentETag: string | null };

/** Outcome of {@link ObjectStore.delete}. */
export type DeleteResult =
  { readonly deleted: true } | { readonly deleted: false; readonly currentETag: string | null };

/** A fresh strong ETag: 144 random bits, so no two writes (even across restarts) share one. No ABA. */
function newETag(): string {
  return `"${randomBytes(18).toString('base64url')}"`;
}

function fileNameOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Makes a directory's entries (a rename, an unlink) durable. Windows cannot fsync directories. */
async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface Header {
  readonly key: string;
  readonly etag: string;
  readonly dataOffset: number;
}

function encodeHeader(key: string, etag: string): Buffer {
  const json = Buffer.from(JSON.stringify({ key, etag }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, length, json]);
}

/** Reads an object file's header; throws if the file is not one. */
async function readHeader(handle: FileHandle, path: string): Promise<Header> {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  const { bytesRead } = await handle.read(prefix, 0, PREFIX_BYTES, 0);
  if (bytesRead < PREFIX_BYTES || !prefix.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error(`${path} is not a chainsync object file (bad magic).`);
  }
  const jsonLength = prefix.readUInt32BE(MAGIC.length);
  const json = Buffer.alloc(jsonLength);
  const read = await handle.read(json, 0, jsonLength, PREFIX_BYTES);
  if (read.bytesRead < jsonLength) throw new Error(`${path} has a truncated header.`);
  const parsed = JSON.parse(json.toString('utf8')) as { key?: unknown; etag?: unknown };
  if (typeof parsed.key !== 'string' || typeof parsed.etag !== 'string') {
    throw new Error(`${path} has a header without key or etag.`);
  }
  return { key: parsed.key, etag: parsed.etag, dataOffset: PREFIX_BYTES + jsonLength };
}

/** The objects of one directory. Only one store (in one process) may use a directory at a time. */
export class ObjectStore {
  readonly #objectsDir: string;
  readonly #tmpDir: string;
  readonly #lock: DirectoryLock;
  /** Every object's current ETag. Authoritative: only this store writes the directory. */
  readonly #etags: Map<string, string>;
  readonly #mutex = new KeyedMutex();
  /** Told each key written or deleted, once the change is durable (see {@link ObjectStore.onChange}). */
  readonly #listeners = new Set<(key: string) => void>();
  #syncRunning: Promise<void> | null = null;
  #syncQueued: Promise<void> | null = null;
  #closed = false;

  private constructor(dir: string, lock: DirectoryLock, etags: Map<string, string>) {
    this.#objectsDir = join(dir, 'objects');
    this.#tmpDir = join(dir, 'tmp');
    this.#lock = lock;
    this.#etags = etags;
  }

  /**
   * Opens (creating if needed) the store in `dir`: takes the directory lock, discards writes a
   * crash interrupted, and indexes the objects.
   * `lockTimings` tunes the directory lock's heartbeat (tests).
   * @throws DirectoryInUseError if another live server holds the directory.
   */
  static async open(dir: string, lockTimings?: Partial<LockTimings>): Promise<ObjectStore> {
    await mkdir(join(dir, 'objects'), { recursive: true });
    const lock = await acquireDirectoryLock(dir, lockTimings);
    try {
      return new ObjectStore(dir, lock, await recover(dir));
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** The current ETag of `key`, or `null` when absent. */
  etagOf(key: string): string | null {
    return this.#etags.get(key) ?? null;
  }

  /** Keys starting with `prefix`, ascending (UTF-16 code unit order, like `Array.prototype.sort`). */
  list(prefix: string): string[] {
    return [...this.#etags.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /**
   * The sizes of `keys` (as {@link ObjectStore.list} returned them), in bytes; `null` for one deleted
   * since. The header's length follows from the key and ETag, so only the file's size is read.
   */
  async sizes(keys: readonly string[]): Promise<(number | null)[]> {
    return Promise.all(
      keys.map(async (key) => {
        const etag = this.#etags.get(key);
        const file = etag && (await stat(join(this.#objectsDir, fileNameOf(key))).catch(() => null));
        // A write that replaced the file since the ETag was read may leave a wrong figure: it is a size for people.
        return file ? Math.max(0, file.size - encodeHeader(key, etag).length) : null;
      }),
    );
  }

  /**
   * Calls `listener` with the key of every write and delete, once it is durable (when the writer is
   * acknowledged): the change signal's held requests answer then. Returns the unsubscribe.
   */
  onChange(listener: (key: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(key: string): void {
    for (const listener of this.#listeners) listener(key);
  }

  /** Opens `key` for reading, or returns `null` when absent. */
  async read(key: string): Promise<StoredObject | null> {
    const path = join(this.#objectsDir, fileNameOf(key));
    const handle = await openUnless(path, 'r', 'ENOENT');
    if (handle === null) return null;
    try {
      const header = await readHeader(handle, path);
      if (header.key !== key) throw new Error(`${path} holds the key ${JSON.stringify(header.key)}.`);
      const { size, mtime } = await handle.stat();
      let closed = false;
      return {
        etag: header.etag,
        size: size - header.dataOffset,
        modified: mtime,
        body: () => {
          closed = true;
          return handle.createReadStream({ start: header.dataOffset, autoClose: true });
        },
        close: async () => {
          if (closed) return;
          closed = true;
          await handle.close();
        },
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Writes `data` to `key` if `precondition` holds for the key's ETag at commit time, atomically
   * with respect to every other write and delete of `key`. The data is received into a temporary
   * file first (outside the per-key lock); a failure while receiving it (an aborted upload, a body
   * over the limit) leaves the object untouched. Resolves only once the write is durable.
   */
  async write(
    key: string,
    data: AsyncIterable<Uint8Array>,
    precondition: Precondition,
  ): Promise<WriteResult> {
    this.#assertOpen();
    const tempPath = join(this.#tmpDir, randomUUID());
    const handle = await open(tempPath, 'wx');
    let handleOpen = true;
    let tempExists = true;
    try {
      const etag = newETag();
      await handle.write(encodeHeader(key, etag));
      for await (const chunk of data) await handle.write(chunk);
      const result: WriteResult = await this.#mutex.run(key, async () => {
        const currentETag = this.etagOf(key);
        if (!precondition(currentETag)) return { committed: false, currentETag };
        // Flushed only once the write has won: under contention the losers (most CAS attempts)
        // cost no flush, and flushes do not crowd the I/O threads that reads need.
        await handle.sync();
        handleOpen = false;
        await handle.close();
        // The commit point: only while the directory is still this server's.
        this.#lock.assertHeld();
        await rename(tempPath, join(this.#objectsDir, fileNameOf(key)));
        tempExists = false;
        this.#etags.set(key, etag);
        return { committed: true, etag, created: currentETag === null };
      });
      // Told even if the flush fails: the new object is what readers see from now on.
      if (result.committed) await this.#syncObjectsDirectory().finally(() => this.#changed(key));
      return result;
    } finally {
      if (handleOpen) await handle.close();
      if (tempExists) await unlink(tempPath).catch(() => undefined);
    }
  }

  /** Deletes `key` if it exists and `precondition` holds, atomically; resolves once durable. */
  async delete(key: string, precondition: Precondition): Promise<DeleteResult> {
    this.#assertOpen();
    const result: DeleteResult = await this.#mutex.run(key, async () => {
      const currentETag = this.etagOf(key);
      if (currentETag === null || !precondition(currentETag)) return { deleted: false, currentETag };
      this.#lock.assertHeld();
      await unlink(join(this.#objectsDir, fileNameOf(key)));
      this.#etags.delete(key);
      return { deleted: true };
    });
    if (result.deleted) await this.#syncObjectsDirectory().finally(() => this.#changed(key));
    return result;
  }

  /**
   * Makes every rename or unlink done so far durable (group commit): the per-key lock covers only
   * the check and the rename, which already decide the outcome for every reader and survive a
   * process crash; the directory flush, needed against power loss, runs after it so the next
   * writer of the key need not wait for it. Acknowledgements still wait for it. A flush covers
   * every change made before it started, so callers arriving while one runs share the next one.
   */
  #syncObjectsDirectory(): Promise<void> {
    if (this.#syncQueued) return this.#syncQueued;
    if (!this.#syncRunning) return this.#startSync();
    const queued = this.#syncRunning
      .catch(() => undefined)
      .then(() => {
        this.#syncQueued = null;
        return this.#startSync();
      });
    this.#syncQueued = queued;
    return queued;
  }

  #startSync(): Promise<void> {
    const running: Promise<void> = syncDirectory(this.#objectsDir).finally(() => {
      if (this.#syncRunning === running) this.#syncRunning = null;
    });
    this.#syncRunning = running;
    return running;
  }

  /** Waits for writes and deletes under way, then releases the directory. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.idle();
    while (this.#syncQueued ?? this.#syncRunning)
      await (this.#syncQueued ?? this.#syncRunning)?.catch(() => undefined);
    await this.#lock.release();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('The object store is closed.');
  }
}

/**
 * Discards writes a crash interrupted (never visible, never acknowledged) and reads every object's
 * key and ETag.
 */
async function recover(dir: string): Promise<Map<string, string>> {
  const objectsDir = join(dir, 'objects');
  const tmpDir = join(dir, 'tmp');
  // Unacknowledged writes interrupted by a crash: never visible, now discarded.
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir);
  await syncDirectory(dir);
  const etags = new Map<string, string>();
  for (const name of await readdir(objectsDir)) {
    const path = join(objectsDir, name);
    if (!OBJECT_FILE_NAME.test(name)) {
      console.warn(`chainsync-server: ignoring ${path}: not an object file name.`);
      continue;
    }
    const handle = await open(path, 'r');
    try {
      const header = await readHeader(handle, path);
      if (fileNameOf(header.key) !== name)
        throw new Error(`${path} holds a key that does not hash to its name.`);
      etags.set(header.key, header.etag);
    } catch (error) {
      console.warn(`chainsync-server: ignoring ${path}: ${(error as Error).message}`);
    } finally {
      await handle.close();
    }
  }
  return etags;
}
