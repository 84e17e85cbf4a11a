/**
 * Blobs of one replica: stored locally in a {@link BlobStorage} under leases that follow the
 * working set, uploaded to content-addressed remote objects before the version that references
 * them is pushed, and downloaded lazily, verified, on first read.
 *
 * Encryption: with a secret, each blob is sealed (AES-256-GCM) under its own random key, kept in
 * its {@link BlobRef} (which only travels inside encrypted segments). One key seals one plaintext
 * only, so the fixed IV is safe and sealing is reproducible: a blob not yet uploaded is re-sealed
 * from the local plaintext at upload time, and its remote name (SHA-256 of the sealed bytes) never
 * reveals the plaintext's hash. The cost: the same bytes put by two replicas are two remote objects
 * (cross-replica dedup would tell the server which users hold the same file).
 */
import type { BlobRef, ObjectRef, Operation, Properties } from '../contracts/replica.js';
import {
  BLOB_REFRESH_AGE_MS,
  type BlobStorage,
  type ContentId,
  type GarbageReport,
  type LeaseId,
  type RemoteBlobGcReport,
} from '../contracts/blob-storage.js';
import {
  ChainIntegrityError,
  ContentMismatchError,
  ContentNotFoundError,
  InvalidArgumentError,
} from '../contracts/errors.js';
import { fromBase64, toBase64 } from '../core/base64.js';
import { utf8 } from '../core/bytes.js';
import { contentIdOf } from '../core/content-id.js';
import { assertBytes } from '../core/validate.js';
import { blobRef, findBlobRefs, isBlobRef } from './blob-ref.js';
import { sealingPart } from './sealing-part.js';
import { objectKey } from '../core/operations.js';

/** What the replica needs from the remote blob store ({@link RemoteBlobs} has this shape). */
export interface RemoteBlobStore {
  /** Uploads create-only unless present and young (an old one is uploaded again); returns the content id. */
  put(data: Uint8Array, contentId?: ContentId): Promise<ContentId>;
  /** The verified bytes. @throws ContentNotFoundError, ContentMismatchError. */
  get(contentId: ContentId): Promise<Uint8Array>;
  /**
   * Optional: makes a present blob young again (re-uploads it when older than
   * {@link BLOB_REFRESH_AGE_MS}); false when it is absent. For blobs a push references but this
   * replica does not hold.
   */
  refresh?(contentId: ContentId): Promise<boolean>;
  /** Optional: remote blob GC ({@link RemoteBlobs.collectGarbage}'s shape). */
  collectGarbage?(options: {
    readonly referenced: () => Promise<ReadonlySet<ContentId>>;
    readonly graceMs: number;
    readonly maxDeletes?: number;
  }): Promise<RemoteBlobGcReport>;
}

/** How {@link ReplicaBlobs} reaches the replica's working set. */
export interface BlobHost {
  readonly local: BlobStorage;
  readonly remote: RemoteBlobStore | null;
  readonly encrypted: boolean;
  /** Names the replica set in lease ids. */
  readonly replicaName: string;
  /** The replica instance: the pid of its leases. */
  readonly pid: string;
  listObjects(): Promise<{ collection: string; id: string; properties: Properties }[]>;
  getObjects(refs: readonly ObjectRef[]): Promise<(Properties | null)[]>;
  /** The operations not pushed yet: their blobs must survive until uploaded. */
  getPendingOperations(): Promise<Operation[]>;
  /** The clock upload checks are dated with (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * How long a blob checked by an upload (uploaded, or found young) is trusted without asking the
 * server again: a quarter of the refresh age, so a blob a push relies on is at most 1.25 times the
 * refresh age old, well inside the GC's grace (twice it at least; docs/compaction.md).
 */
const UPLOAD_TRUSTED_MS = BLOB_REFRESH_AGE_MS / 4;

const SEAL_AAD = utf8('chainsync/v1/blob');
// Each blob key seals exactly one plaintext, so a constant IV never repeats under one key.
const FIXED_IV = new Uint8Array(12);

/** The blob side of a replica. */
export class ReplicaBlobs {
  readonly #host: BlobHost;
  /** Blob ids referenced by each live object. */
  readonly #byObject = new Map<string, Set<ContentId>>();
  /** How many live objects reference each blob, and one of its references. */
  readonly #refCount = new Map<ContentId, number>();
  readonly #refs = new Map<ContentId, BlobRef>();
  /** Blobs this instance holds a lease on. */
  readonly #leased = new Set<ContentId>();
  /** Put by this instance and not referenced yet: kept until referenced (or the pid ends). */
  readonly #fresh = new Set<ContentId>();
  /** Remote names known to be uploaded and young, and when that was checked (saves a HEAD per push). */
  readonly #uploaded = new Map<ContentId, number>();
  readonly #reading = new Map<ContentId, Promise<Uint8Array>>();
  #queue: Promise<void> = Promise.resolve();

  constructor(host: BlobHost) {
    this.#host = host;
    // A failure here is logged by #run; the next refresh or rescan repairs the bookkeeping.
    this.#run(async () => {
      await host.local.adviseOfPid(host.pid);
      await this.#rescan();
    }).catch(() => undefined);
  }

  /** The lease this replica holds on `contentId`. */
  lease(contentId: ContentId): LeaseId {
    return { id: `${this.#host.replicaName}:${contentId}`, pid: this.#host.pid };
  }

  /** Stores `data` locally (leased) and returns the reference to put in a property. */
  async put(data: Uint8Array, type?: string): Promise<BlobRef> {
    assertBytes(data, 'data');
    if (type !== undefined && typeof type !== 'string') {
      throw new InvalidArgumentError('type', 'expected a MIME type string or undefined.');
    }
    const contentId = await contentIdOf(data);
    await this.#queue; // the reference index must include the latest changes
    let sealed: BlobRef['sealed'];
    // The same bytes again reuse the known key: same sealed object, uploaded once.
    const known = this.#refs.get(contentId)?.sealed;
    if (known) sealed = known;
    else if (this.#host.encrypted) {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const remote = await contentIdOf(await sealWith(key, data));
      sealed = { remote, key: toBase64(key) };
    }
    const ref = blobRef(contentId, data.length, type, sealed);
    await this.#run(async () => {
      await this.#host.local.store(contentId, data, this.lease(contentId));
      this.#leased.add(contentId);
      if (!this.#refCount.has(contentId)) this.#fresh.add(contentId);
    });
    return ref;
  }

  /**
   * The blob's bytes: from local storage, else downloaded, verified and stored locally. A bare
   * content id works for blobs the working set references (or unencrypted sets).
   * @throws ContentNotFoundError if it is nowhere; ContentMismatchError or ChainIntegrityError if
   * the remote bytes are corrupted (nothing local is written then).
   */
  async get(refOrId: BlobRef | ContentId): Promise<Uint8Array> {
    await this.#queue;
    const ref = this.#resolve(refOrId);
    // Concurrent reads of one missing blob share a single download.
    const running = this.#reading.get(ref.$blob);
    if (running) return (await running).slice();
    const read = this.#read(ref).finally(() => this.#reading.delete(ref.$blob));
    this.#reading.set(ref.$blob, read);
    return (await read).slice();
  }

  async #read(ref: BlobRef): Promise<Uint8Array> {
    const contentId = ref.$blob;
    const lease = this.lease(contentId);
    try {
      return await this.#host.local.getData(contentId, lease);
    } catch (error) {
      if (!(error instanceof ContentNotFoundError)) throw error;
    }
    const remote = this.#host.remote;
    if (!remote) {
      throw new ContentNotFoundError(
        `Blob ${contentId} is not stored locally and this replica has no remoteBlobs to download it from.`,
      );
    }
    const data = await this.#download(remote, ref);
    await this.#run(async () => {
      await this.#host.local.store(contentId, data, lease);
      if (this.#refCount.has(contentId)) this.#leased.add(contentId);
      else if (!this.#leased.has(contentId)) await this.#host.local.adviseLeaseDropped(lease, contentId);
    });
    return data;
  }

  /** Uploads every blob that `ops` reference and that is stored locally but not yet remote. */
  async uploadReferenced(ops: readonly Operation[]): Promise<void> {
    const remote = this.#host.remote;
    if (!remote) return;
    const refs = new Map<ContentId, BlobRef>();
    for (const op of ops) {
      if (op.type === 'update')
        for (const r of findBlobRefs(op.value)) refs.set(r.sealed?.remote ?? r.$blob, r);
    }
    const now = this.#host.now ?? Date.now;
    for (const [name, ref] of refs) {
      const checked = this.#uploaded.get(name);
      if (checked !== undefined && now() - checked < UPLOAD_TRUSTED_MS) continue;
      const started = now();
      let data: Uint8Array;
      try {
        data = await this.#host.local.getData(ref.$blob, this.lease(ref.$blob));
      } catch (error) {
        if (!(error instanceof ContentNotFoundError)) throw error;
        // Not here: it came from another replica, so it is already remote. Make it young, so the
        // GC cannot take it while this push lands (if it is gone already, nothing can bring it back).
        if (remote.refresh && (await remote.refresh(name))) this.#uploaded.set(name, started);
        continue;
      }
      const body = ref.sealed ? await sealWith(fromBase64(ref.sealed.key), data) : data;
      await remote.put(body, name);
      this.#uploaded.set(name, started);
    }
  }

  /**
   * One bounded pass of remote blob GC (docs/compaction.md): deletes the remote blobs older than
   * `graceMs` that neither this replica's working set, nor its operations not pushed yet, nor the
   * retained versions (`retained`, read after the listing) reference.
   */
  async collectRemoteGarbage(
    retained: () => Promise<readonly BlobRef[]>,
    graceMs: number,
    maxDeletes: number | undefined,
  ): Promise<RemoteBlobGcReport> {
    const remote = this.#host.remote;
    if (!remote?.collectGarbage) {
      return { deleted: 0, more: false, unsupported: 'the remote blob store does not collect garbage' };
    }
    return remote.collectGarbage({
      graceMs,
      ...(maxDeletes === undefined ? {} : { maxDeletes }),
      referenced: async () => {
        await this.#queue;
        const names = new Set<ContentId>();
        const add = (ref: BlobRef) => names.add(ref.sealed?.remote ?? ref.$blob);
        // Every reference, not one per content id: on an encrypted set the same bytes put by two
        // replicas are two sealed objects, each referenced by its own objects.
        for (const o of await this.#host.listObjects()) {
          for (const value of Object.values(o.properties)) findBlobRefs(value).forEach(add);
        }
        for (const op of await this.#host.getPendingOperations()) {
          if (op.type === 'update') findBlobRefs(op.value).forEach(add);
        }
        (await retained()).forEach(add);
        return names;
      },
    });
  }

  /** Re-reads what `objects` reference (`'all'`: the whole working set) and adjusts the leases. */
  refresh(objects: readonly ObjectRef[] | 'all'): Promise<void> {
    return this.#run(async () => {
      if (objects === 'all') return this.#rescan();
      const props = await this.#host.getObjects(objects);
      objects.forEach((o, i) => this.#setObject(objectKey(o), props[i] ?? null));
      await this.#reconcile();
    });
  }

  /** Whether a live object of the working set references `contentId` (the GC's hook). */
  isReferenced(contentId: ContentId): boolean {
    return this.#refCount.has(contentId);
  }

  /**
   * Runs the local store's GC. Kept: blobs live objects reference, and blobs that operations not
   * pushed yet reference (they are uploaded with the push, even if their object is gone by then).
   */
  async collectGarbage(): Promise<GarbageReport> {
    await this.#queue;
    const pending = new Set<ContentId>();
    for (const op of await this.#host.getPendingOperations()) {
      if (op.type === 'update') for (const r of findBlobRefs(op.value)) pending.add(r.$blob);
    }
    return this.#host.local.collectGarbage({
      isReferenced: (id) => this.isReferenced(id) || pending.has(id),
    });
  }

  #resolve(refOrId: BlobRef | ContentId): BlobRef {
    if (isBlobRef(refOrId)) return refOrId;
    if (typeof refOrId === 'string') {
      const known = this.#refs.get(refOrId);
      if (known) return known;
      if (!this.#host.encrypted) return blobRef(refOrId, 0); // validates the id
      throw new InvalidArgumentError(
        'blob',
        'on an encrypted replica set pass the whole blob reference (it holds the blob key), not a bare id.',
      );
    }
    throw new InvalidArgumentError('blob', 'expected a blob reference or a content id.');
  }

  async #download(remote: RemoteBlobStore, ref: BlobRef): Promise<Uint8Array> {
    const body = await remote.get(ref.sealed?.remote ?? ref.$blob);
    let data = body;
    if (ref.sealed) {
      const key = await importKey(fromBase64(ref.sealed.key));
      const opened = await (await sealingPart.load()).unseal(key, body, SEAL_AAD);
      if (!opened) {
        throw new ChainIntegrityError(
          `Blob ${ref.$blob} failed authentication: the remote object was tampered with. Nothing local was changed.`,
        );
      }
      data = opened;
    }
    const actual = await contentIdOf(data);
    if (actual !== ref.$blob) {
      throw new ContentMismatchError(
        `The downloaded blob hashes to ${actual}, not ${ref.$blob}. Nothing local was changed.`,
      );
    }
    return data;
  }

  async #rescan(): Promise<void> {
    this.#byObject.clear();
    this.#refCount.clear();
    this.#refs.clear();
    for (const o of await this.#host.listObjects()) this.#setObject(objectKey(o), o.properties);
    await this.#reconcile();
  }

  #setObject(key: string, props: Properties | null): void {
    for (const id of this.#byObject.get(key) ?? []) {
      const n = (this.#refCount.get(id) ?? 1) - 1;
      if (n > 0) this.#refCount.set(id, n);
      else {
        this.#refCount.delete(id);
        this.#refs.delete(id);
      }
    }
    this.#byObject.delete(key);
    if (!props) return;
    const ids = new Set<ContentId>();
    for (const value of Object.values(props)) {
      for (const r of findBlobRefs(value)) {
        ids.add(r.$blob);
        if (!this.#refs.has(r.$blob)) this.#refs.set(r.$blob, r);
      }
    }
    if (ids.size === 0) return;
    this.#byObject.set(key, ids);
    for (const id of ids) {
      this.#refCount.set(id, (this.#refCount.get(id) ?? 0) + 1);
      this.#fresh.delete(id);
    }
  }

  /** Leases what is referenced and stored locally; drops leases nothing references any more. */
  async #reconcile(): Promise<void> {
    const local = this.#host.local;
    for (const id of this.#refCount.keys()) {
      if (this.#leased.has(id)) continue;
      try {
        await local.leaseByContent(id, this.lease(id));
        this.#leased.add(id);
      } catch (error) {
        if (!(error instanceof ContentNotFoundError)) throw error; // not downloaded yet: lazy
      }
    }
    for (const id of [...this.#leased]) {
      if (this.#refCount.has(id) || this.#fresh.has(id)) continue;
      await local.adviseLeaseDropped(this.lease(id), id);
      this.#leased.delete(id);
    }
  }

  /** Serialises lease bookkeeping; a failure is reported to its caller but does not stop the queue. */
  #run(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task);
    this.#queue = run.catch((error: unknown) => {
      console.error('chainsync: blob lease bookkeeping failed', error);
    });
    return run;
  }
}

async function importKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [
    'encrypt',
    'decrypt',
  ]);
}

async function sealWith(raw: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const { seal } = await sealingPart.load();
  return seal(await importKey(raw), data, SEAL_AAD, FIXED_IV);
}
