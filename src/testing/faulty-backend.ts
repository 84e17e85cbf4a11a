import type {
  AtomicRemoteBackend,
  ConditionalDelete,
  ConditionalPut,
  ListedObject,
  ObjectVersion,
  VersionedObject,
} from '../contracts/remote-backend.js';
import { DeterminateRemoteError, IndeterminateRemoteError } from '../contracts/errors.js';
import { WriteHolds, type HeldWriteInfo } from './held-writes.js';

/** Fault rates of a {@link FaultyBackend}: probabilities in [0, 1] per call. */
export interface FaultyBackendOptions {
  /** Seed of the deterministic fault schedule (default 1). */
  readonly seed?: number;
  /** A write is applied, then its response is lost: IndeterminateRemoteError. */
  readonly appliedThenDropped?: number;
  /** A write is lost before it reaches the store: IndeterminateRemoteError, nothing applied. */
  readonly droppedBeforeApply?: number;
  /** A write is refused before it is applied: DeterminateRemoteError (e.g. a 503). */
  readonly failBeforeApply?: number;
  /** A read fails: DeterminateRemoteError. */
  readonly readFailure?: number;
  /**
   * At most this many faults in a row, counted separately for reads and writes (default 2), so a
   * client that retries a few times always makes progress and a test never depends on luck.
   */
  readonly maxConsecutiveFaults?: number;
  /** Hide `list`, like a server that cannot LIST (default false). */
  readonly withoutList?: boolean;
  /**
   * Runs after a write fault is decided (and, for `appliedThenDropped`, applied) and before the
   * error is thrown: lets a test make other clients write while the response is "in the network".
   */
  readonly duringWriteFault?: (kind: Exclude<keyof FaultCounts, 'readFailure'>, key: string) => Promise<void>;
}

/** How many faults of each kind a {@link FaultyBackend} injected. */
export interface FaultCounts {
  appliedThenDropped: number;
  droppedBeforeApply: number;
  failBeforeApply: number;
  readFailure: number;
}

/**
 * Wraps any {@link AtomicRemoteBackend} and injects the failures of a real network on a seeded,
 * reproducible schedule: writes applied but unacknowledged, writes lost, writes refused, reads
 * failed. For proving that a client resolves indeterminate writes by reading back, never by blind
 * retries. `list` exists only when the wrapped backend has it and `withoutList` is not set.
 *
 * Besides the random schedule, {@link FaultyBackend.holds} holds chosen writes past the client's
 * timeout and lands them later (see {@link WriteHolds}): the write whose retry is refused because
 * the first attempt landed after the read-back.
 */
export class FaultyBackend implements AtomicRemoteBackend {
  readonly inner: AtomicRemoteBackend;
  readonly injected: FaultCounts = {
    appliedThenDropped: 0,
    droppedBeforeApply: 0,
    failBeforeApply: 0,
    readFailure: 0,
  };
  /** When false, calls pass through untouched (to set up or inspect state). */
  enabled = true;
  /** Writes held past the client's timeout, landing later (applies even when `enabled` is false). */
  readonly holds = new WriteHolds();
  readonly list?: (prefix: string) => Promise<string[]>;
  readonly listObjects?: (prefix: string) => Promise<ListedObject[]>;
  /** The inner backend's, faulty like every read (absent when the inner backend has none). */
  readonly lastModified?: (key: string) => Promise<number | null>;
  readonly #options: Required<FaultyBackendOptions>;
  #state: number;
  #readRun = 0;
  #writeRun = 0;

  constructor(inner: AtomicRemoteBackend, options: FaultyBackendOptions = {}) {
    this.inner = inner;
    this.#options = {
      seed: 1,
      appliedThenDropped: 0,
      droppedBeforeApply: 0,
      failBeforeApply: 0,
      readFailure: 0,
      maxConsecutiveFaults: 2,
      withoutList: false,
      duringWriteFault: async () => {},
      ...options,
    };
    this.#state = this.#options.seed >>> 0 || 1;
    if (inner.list && !this.#options.withoutList) {
      const list = inner.list.bind(inner);
      this.list = (prefix) => this.#read(null, () => list(prefix));
    }
    if (inner.listObjects && !this.#options.withoutList) {
      const listObjects = inner.listObjects.bind(inner);
      this.listObjects = (prefix) => this.#read(null, () => listObjects(prefix));
    }
    if (inner.lastModified) {
      const lastModified = inner.lastModified.bind(inner);
      this.lastModified = (key) => this.#read(key, () => lastModified(key));
    }
  }

  download(key: string): Promise<Uint8Array | null> {
    return this.#read(key, () => this.inner.download(key));
  }

  downloadVersioned(key: string): Promise<VersionedObject | null> {
    return this.#read(key, () => this.inner.downloadVersioned(key));
  }

  exists(key: string): Promise<boolean> {
    return this.#read(key, () => this.inner.exists(key));
  }

  objectVersion(key: string): Promise<ObjectVersion | null> {
    return this.#read(key, () => this.inner.objectVersion(key));
  }

  upload(key: string, data: Uint8Array): Promise<void> {
    return this.#write({ method: 'PUT', key, conditional: false }, () => this.inner.upload(key, data));
  }

  uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut): Promise<ObjectVersion> {
    return this.#write({ method: 'PUT', key, conditional: true }, () =>
      this.inner.uploadConditional(key, data, condition),
    );
  }

  delete(key: string): Promise<void> {
    return this.#write({ method: 'DELETE', key, conditional: false }, () => this.inner.delete(key));
  }

  deleteConditional(key: string, condition: ConditionalDelete): Promise<void> {
    return this.#write({ method: 'DELETE', key, conditional: true }, () =>
      this.inner.deleteConditional(key, condition),
    );
  }

  async #read<T>(key: string | null, request: () => Promise<T>): Promise<T> {
    if (
      this.enabled &&
      this.#readRun < this.#options.maxConsecutiveFaults &&
      this.#chance(this.#options.readFailure)
    ) {
      this.#readRun++;
      this.injected.readFailure++;
      throw new DeterminateRemoteError('Injected fault: the read failed.', { status: 503 });
    }
    this.#readRun = 0;
    return this.holds.read(key, request);
  }

  #write<T>(info: HeldWriteInfo, request: () => Promise<T>): Promise<T> {
    return this.holds.write(
      info,
      (held) => (held ? request() : this.#faulty(info.key, request)),
      () =>
        new IndeterminateRemoteError(
          `Injected fault: the write of ${info.key} got no answer within the client's timeout (it is held in the network and lands later).`,
        ),
    );
  }

  async #faulty<T>(key: string, request: () => Promise<T>): Promise<T> {
    if (this.enabled && this.#writeRun < this.#options.maxConsecutiveFaults) {
      const roll = this.#next();
      const { failBeforeApply, droppedBeforeApply, appliedThenDropped } = this.#options;
      if (roll < failBeforeApply) {
        this.#writeRun++;
        this.injected.failBeforeApply++;
        await this.#options.duringWriteFault('failBeforeApply', key);
        throw new DeterminateRemoteError(`Injected fault: the write of ${key} was refused.`, { status: 503 });
      }
      if (roll < failBeforeApply + droppedBeforeApply) {
        this.#writeRun++;
        this.injected.droppedBeforeApply++;
        await this.#options.duringWriteFault('droppedBeforeApply', key);
        throw new IndeterminateRemoteError(`Injected fault: the write of ${key} was lost on the way.`);
      }
      if (roll < failBeforeApply + droppedBeforeApply + appliedThenDropped) {
        this.#writeRun++;
        // Only a write that really applied counts as "applied then dropped".
        await request();
        this.injected.appliedThenDropped++;
        await this.#options.duringWriteFault('appliedThenDropped', key);
        throw new IndeterminateRemoteError(`Injected fault: the response to the write of ${key} was lost.`);
      }
    }
    this.#writeRun = 0;
    return request();
  }

  #chance(p: number): boolean {
    return p > 0 && this.#next() < p;
  }

  /** mulberry32: a small seeded PRNG in [0, 1). */
  #next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
