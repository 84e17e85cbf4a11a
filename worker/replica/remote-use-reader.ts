import type { RemoteUse, SyncResult } from '../../src/contracts/replica.js';
import type { DataSetUse } from '../../src/remote/data-set-use.js';

/** What a {@link RemoteUseReader} reads and tells. */
export interface RemoteUseSources {
  /** Lists the data set on the server (`ReplicaRemote.usage`): `null` where it cannot list. */
  usage(): Promise<DataSetUse | null>;
  /** The height of the replica's base: the chain's head right after a sync. */
  headHeight(): Promise<number>;
  /** Tells the status. */
  measured(use: RemoteUse): void;
}

/**
 * Keeps the leader's `status().remote` (issue 12) up to date without listing on every sync: it
 * lists after the first successful sync, then after each sync that compacted. One listing runs at
 * a time; a failed one is tried again after the next sync. Never awaited by a sync.
 */
export class RemoteUseReader {
  readonly #sources: RemoteUseSources;
  #listed = false;
  #running = false;

  constructor(sources: RemoteUseSources) {
    this.#sources = sources;
  }

  /** A sync succeeded: list if the server may hold something new to show. */
  afterSync(result: SyncResult): void {
    if (this.#running || (this.#listed && result.compaction === undefined)) return;
    this.#running = true;
    void this.#list().finally(() => (this.#running = false));
  }

  async #list(): Promise<void> {
    const [use, to] = await Promise.all([this.#sources.usage(), this.#sources.headHeight()]).catch(() => []);
    if (to === undefined) return; // Unreachable now: the next sync tries again.
    this.#listed = true;
    if (!use) return;
    const from = Math.max(1, to - use.versions + 1);
    this.#sources.measured({
      retained: { from, to },
      objects: use.objects,
      bytes: use.bytes,
      at: Date.now(),
    });
  }
}
