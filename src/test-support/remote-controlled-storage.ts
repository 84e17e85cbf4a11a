/**
 * {@link ControlledStorage} on a live remote (test support, not public API): a RemoteStorage on an
 * {@link AtomicRemoteBackend}, controlled by reading and rewriting its objects directly on that
 * backend, as a hostile or pruning server would — the RemoteStorage under test is never asked.
 * It works on the object layout documented at the top of src/remote/remote-storage.ts and reuses
 * that layout's codecs (storage-layout.ts), so a layout change shows up here as a type error or a
 * failing case, not as a silently stale copy. Needs a backend that can LIST (`options.list`).
 */
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import type { Client, Storage, StorageTxn, Uuid, Version } from '../contracts/storage.js';
import { utf8 } from '../core/bytes.js';
import { fromBase64, toBase64 } from '../core/base64.js';
import { encodeJson } from '../remote/codec.js';
import { objectRoot } from '../remote/object-keys.js';
import { mapLimit } from '../remote/remote-io.js';
import { RemoteStorage } from '../remote/remote-storage.js';
import {
  decodePack,
  decodeRecord,
  encodePack,
  packFirst,
  packName,
  recordName,
  versionOf,
  type PointerJson,
  type RecordJson,
} from '../remote/storage-layout.js';
import { countingStorage, type ControlledStorage, type TxnCalls } from './controlled-storage.js';

/** Parallel requests of the control operations. */
const PARALLEL = 8;

export class RemoteControlledStorage implements ControlledStorage {
  readonly calls: TxnCalls = {
    getClient: 0,
    getVersion: 0,
    getVersionByParent: 0,
    getVersionsAfter: 0,
    getSnapshotData: 0,
  };
  #serverReads = 0;
  readonly #backend: AtomicRemoteBackend;
  readonly #list: (prefix: string) => Promise<string[]>;
  readonly #root: string;
  readonly #storage: Storage;
  /** The one client id the tests use with this instance, learnt from the first txn. */
  #clientId: Uuid | null = null;

  constructor(backend: AtomicRemoteBackend, prefix: string) {
    const list = backend.list;
    if (!list) {
      throw new Error('RemoteControlledStorage needs a backend that can list (connectRemote({ list }))');
    }
    this.#backend = backend;
    this.#list = (p) => list.call(backend, p);
    this.#root = objectRoot(prefix);
    const read =
      <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
      (...args: A) => {
        this.#serverReads++;
        return f.apply(backend, args);
      };
    // The Storage under test reaches the server through this wrapper: its reads are counted, the
    // control operations below (on `backend` itself) are not.
    const counted: AtomicRemoteBackend = {
      download: read(backend.download),
      downloadVersioned: read(backend.downloadVersioned),
      objectVersion: read(backend.objectVersion),
      exists: read(backend.exists),
      upload: (key, data) => backend.upload(key, data),
      delete: (key) => backend.delete(key),
      uploadConditional: (key, data, condition) => backend.uploadConditional(key, data, condition),
      deleteConditional: (key, condition) => backend.deleteConditional(key, condition),
    };
    this.#storage = countingStorage(new RemoteStorage(counted, { prefix }), this.calls);
  }

  txn(clientId: Uuid): Promise<StorageTxn> {
    this.#clientId ??= clientId;
    if (clientId !== this.#clientId) {
      throw new Error(`RemoteControlledStorage controls client ${this.#clientId} only, not ${clientId}`);
    }
    return this.#storage.txn(clientId);
  }

  get serverReads(): number {
    return this.#serverReads;
  }

  resetCounts(): void {
    this.#serverReads = 0;
    for (const key of Object.keys(this.calls) as (keyof TxnCalls)[]) this.calls[key] = 0;
  }

  async client(): Promise<Client | null> {
    return (await this.#records()).at(-1)?.state.client ?? null;
  }

  async chain(): Promise<Version[]> {
    const records = await this.#records();
    const byId = new Map(records.flatMap((r) => r.versions.map((v) => [v.id, v] as const)));
    const out: Version[] = [];
    for (let v = byId.get(records.at(-1)?.state.client.latestVersionId ?? ''); v; v = byId.get(v.parent)) {
      out.unshift(versionOf(v));
    }
    return out;
  }

  async checkpoint(): Promise<() => Promise<void>> {
    const saved = new Map<string, Uint8Array>();
    await mapLimit(await this.#list(this.#root), PARALLEL, async (key) => {
      const data = await this.#backend.download(key);
      if (data) saved.set(key, data);
    });
    return async () => {
      const now = await this.#list(this.#root);
      await mapLimit(
        now.filter((key) => !saved.has(key)),
        PARALLEL,
        (key) => this.#backend.delete(key),
      );
      await mapLimit([...saved], PARALLEL, ([key, data]) => this.#backend.upload(key, data));
    };
  }

  async prune(upTo?: Uuid, { forgetLinks = false } = {}): Promise<number> {
    const records = await this.#records();
    const head = records.at(-1);
    const last = upTo ?? head?.state.client.snapshot?.versionId;
    if (!head || !last) throw new Error('nothing to prune: no snapshot');
    const dir = this.#dir();
    const byId = new Map(records.flatMap((r) => r.versions.map((v) => [v.id, { v, n: r.n }] as const)));
    const pruned = new Set<Uuid>();
    let lastPrunedCommit = 0;
    const doomed: string[] = [];
    for (let found = byId.get(last); found; found = byId.get(found.v.parent)) {
      pruned.add(found.v.id);
      lastPrunedCommit = Math.max(lastPrunedCommit, found.n);
      doomed.push(`${dir}i/${found.v.id}`, `${dir}p/${found.v.parent}`);
      if (forgetLinks) doomed.push(`${dir}p/${found.v.id}`);
    }
    // Readers find the state from the pointer and probe the commits after it: move it to the head
    // first, so deleting old commits cannot hide the state (a lagging pointer would be rolled
    // forward over the deleted commits).
    const pointer: PointerJson = { f: 1, n: head.n, state: head.state };
    await this.#backend.upload(`${dir}client`, encodeJson(pointer));
    const changed: number[] = [];
    for (const record of records) {
      const kept = record.versions.filter((v) => !pruned.has(v.id));
      if (kept.length === record.versions.length && (kept.length > 0 || record.n > lastPrunedCommit)) {
        continue;
      }
      changed.push(record.n);
      if (kept.length === 0) doomed.push(recordName(dir, record.n));
      else await this.#backend.upload(recordName(dir, record.n), encodeJson({ ...record, versions: kept }));
    }
    // A pack copies its commits verbatim: drop every pack holding a changed one (readers then
    // read commit by commit, and cannot rebuild a pack with commits missing).
    for (const first of new Set(changed.map(packFirst))) doomed.push(packName(dir, first));
    await mapLimit(doomed, PARALLEL, (key) => this.#backend.delete(key));
    return pruned.size;
  }

  async replaceVersion(versionId: Uuid, next: (v: Version) => Version): Promise<void> {
    const record = (await this.#records()).find((r) => r.versions.some((v) => v.id === versionId));
    if (!record) throw new Error(`no version ${versionId}`);
    const replaced: RecordJson = {
      ...record,
      versions: record.versions.map((v) => {
        if (v.id !== versionId) return v;
        const w = next(versionOf(v));
        return { id: w.versionId, parent: w.parentVersionId, seg: toBase64(w.historySegment) };
      }),
    };
    const dir = this.#dir();
    await this.#backend.upload(recordName(dir, record.n), encodeJson(replaced));
    // Readers may take the commit from its pack instead: tamper with that copy too.
    const first = packFirst(record.n);
    const packKey = packName(dir, first);
    const pack = await this.#backend.download(packKey);
    if (pack) {
      const records = decodePack(pack, packKey, first).map((r) => (r.n === record.n ? replaced : r));
      await this.#backend.upload(packKey, encodePack(first, records));
    }
  }

  async replaceSnapshotData(next: (data: Uint8Array) => Uint8Array): Promise<void> {
    const snap = (await this.#records()).at(-1)?.state.snap;
    // The suites' chains know no object limit, so their snapshots are single objects, not parts.
    if (snap && typeof snap !== 'string') throw new Error('replaceSnapshotData: the snapshot is in parts');
    const key = snap && this.#dir() + snap;
    const data = key && (await this.#backend.download(key));
    if (!key || !data) throw new Error('no snapshot to replace');
    await this.#backend.upload(key, next(data));
  }

  async storedBytes(): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    await mapLimit(await this.#list(this.#root), PARALLEL, async (key) => {
      const data = await this.#backend.download(key);
      out.push(utf8(key)); // the server sees the names too
      if (!data) return;
      out.push(data);
      // Segments are stored base64-encoded inside commit records and packs: scan them decoded too.
      const commit = /\/c\/(\d{12})$/.exec(key)?.[1];
      const pack = /\/k\/(\d{12})$/.exec(key)?.[1];
      const records = commit
        ? [decodeRecord(data, key, Number(commit))]
        : pack
          ? decodePack(data, key, Number(pack))
          : [];
      for (const r of records) for (const v of r.versions) out.push(fromBase64(v.seg));
    });
    return out;
  }

  #dir(): string {
    if (!this.#clientId) throw new Error('no transaction has named the client yet');
    return `${this.#root}${this.#clientId}/`;
  }

  /** Every commit record the server holds, in commit order (pruned ones are missing). */
  async #records(): Promise<RecordJson[]> {
    if (!this.#clientId) return [];
    const dir = this.#dir();
    const keys = await this.#list(`${dir}c/`);
    const records = await mapLimit(keys, PARALLEL, async (key) => {
      const data = await this.#backend.download(key);
      return data && decodeRecord(data, key, Number(key.slice(key.lastIndexOf('/') + 1)));
    });
    return records.filter((r) => r !== null).sort((a, b) => a.n - b.n);
  }
}
