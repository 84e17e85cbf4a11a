import { isPositiveInteger } from '../core/validate.js';
/**
 * The sync loop over any {@link Storage}: pull the versions after the base, rebase the pending
 * operations on them, push them as new versions (in batches), and repeat when another replica got
 * there first. Snapshots bootstrap fresh replicas and rescue replicas whose base was pruned.
 */
import type { RemoteBlobGcReport } from '../contracts/blob-storage.js';
import type {
  BlobRef,
  Operation,
  ReplicaChangeEvent,
  StoredObject,
  SyncOptions,
  SyncResult,
} from '../contracts/replica.js';
import type { CasKv } from '../contracts/cas-kv.js';
import {
  AlreadyExistsError,
  ChainIntegrityError,
  RemoteError,
  serializeError,
  type StuckOperation,
  TransactionConflictError,
  VersionConflictError,
  WrongSecretError,
} from '../contracts/errors.js';
import {
  NIL_UUID,
  type Client,
  type CompactionPolicy,
  type CompactionReport,
  DEFAULT_KEEP_DAYS,
  type Storage,
  type StorageTxn,
  type Uuid,
  type Version,
} from '../contracts/storage.js';
import { sleep } from '../core/sleep.js';
import { realTimers, type Timers } from '../core/timers.js';
import type { StorageEstimator } from '../core/storage-estimate.js';
import { explainQuotaError } from './quota.js';
import { advanceBase, movedTo, resetBase, type ChainStep } from './advance.js';
import { isEncrypted, PBKDF2_ITERATIONS, type ChainContent } from './crypto.js';
import { sealingPart } from './sealing-part.js';
import { PLAIN_FORMAT, type EnvelopeKey } from './envelope.js';
import type { Mutex } from './mutex.js';
import type { ProgressSink } from './progress.js';
import { objectKey } from '../core/operations.js';
import type {
  InFlightPush,
  LandedPlans,
  PendingOperation,
  PushedVersion,
  ReplicaState,
  ReplicaStore,
  ReplicaWrite,
} from '../contracts/replica-store.js';
import { type DecodedSegment, decodeSegments, encodeSegment } from './segments.js';
import { findBlobRefs } from './blob-ref.js';
import { authorsOf, foldLanded, landedIn, landedOf } from './landed.js';
import {
  type SnapshotContent,
  decodeSnapshot,
  DAY_MS,
  DEFAULT_SNAPSHOT_POLICY,
  encodeSnapshot,
  snapshotUrgency,
  type SnapshotPolicy,
} from './snapshots.js';
import {
  DEFAULT_MAX_VERSION_BYTES,
  operationsStuck,
  oversized,
  planVersions,
  type VersionLimit,
} from './version-size.js';

/** What the engine needs from its replica. */
export interface SyncHost {
  readonly store: ReplicaStore;
  /** The replica's write lock: local writes and the engine's commits never interleave. */
  readonly lock: Mutex;
  /**
   * Tells subscribers which objects sync changed (`'all'` after a snapshot reset), which pending
   * operations lost a conflict and were discarded (`dropped`), and which other replicas'
   * operations a pending operation beat (`overridden`, in chain order).
   */
  notify(change: Omit<ReplicaChangeEvent, 'source'>): void;
}

/** Configuration of {@link SyncEngine}. */
export interface SyncConfig {
  readonly storage: Storage;
  /** The replicated data set: every replica of it uses the same id. */
  readonly clientId: Uuid;
  /** Where the encryption salt and key check live (needed with a secret). */
  readonly kv?: CasKv | undefined;
  /**
   * Encrypts everything stored remotely: the data set's secret, or the key an earlier session
   * derived from it (handed to {@link SyncConfig.onEncryptionKey}).
   */
  readonly secret?: string | CryptoKey | undefined;
  /**
   * Called with the data set's key once a sync has derived and checked it: a background sync that
   * must run without the secret keeps it (non-extractable, so its bytes never leave WebCrypto).
   */
  readonly onEncryptionKey?: ((key: CryptoKey) => void) | undefined;
  /** Most operations per pushed version (default 1000). */
  readonly maxOperationsPerVersion?: number | undefined;
  /**
   * Most bytes of encoded segment per pushed version (default {@link DEFAULT_MAX_VERSION_BYTES}); the
   * remote's own limit (`Storage.limits()`, or learned from a 413) applies too when lower.
   */
  readonly maxVersionBytes?: number | undefined;
  /** Versions fetched per read (default 100). */
  readonly pullPageSize?: number | undefined;
  /**
   * The largest body a pulled segment or snapshot may inflate to (default 256 MiB,
   * `DEFAULT_MAX_DECODED_BYTES` in envelope.ts); past it, or past the length the body declares, the sync
   * fails with CHAIN_INTEGRITY. Bounds what a hostile server's decompression bomb can cost.
   */
  readonly maxDecodedBytes?: number | undefined;
  readonly snapshotPolicy?: SnapshotPolicy | undefined;
  /**
   * Compacts the remote history behind each snapshot this replica uploads (`Storage.compact`, one
   * bounded call per sync; see docs/compaction.md), with this retention. Off when absent.
   */
  readonly compaction?: CompactionPolicy | undefined;
  /** Push/pull rounds before giving up under constant contention (default 50). */
  readonly maxRounds?: number | undefined;
  readonly clock?: (() => number) | undefined;
  /** Timers and randomness of the pause after a lost race (default: the platform's). */
  readonly timers?: Timers | undefined;
  /**
   * TEST ONLY: PBKDF2 iterations instead of {@link PBKDF2_ITERATIONS}. Weakens the key; every
   * replica of a chain must use the same value. Never set this in an application.
   */
  readonly testOnlyPbkdf2Iterations?: number | undefined;
  /** Runs before each version is pushed, with its operations (the replica uploads their blobs). */
  readonly beforePush?: ((ops: readonly Operation[]) => Promise<void>) | undefined;
  /**
   * Remote blob GC, run after each compaction call (the replica deletes the remote blobs nothing
   * references; docs/compaction.md). `retained` reads the blob references of every retained
   * version: called after the blob listing, as the GC must.
   */
  readonly collectBlobs?:
    | ((
        retained: () => Promise<readonly BlobRef[]>,
        graceMs: number,
        maxDeletes: number | undefined,
      ) => Promise<RemoteBlobGcReport>)
    | undefined;
  /** Told each page of a bootstrap, pull and push (a `ProgressMeter` throttles and reports it). */
  readonly progress?: ProgressSink | undefined;
  /**
   * Reads the origin's storage use when a pull is refused for lack of space, for the error to say
   * (default: `navigator.storage.estimate()`, `null` where it is missing).
   */
  readonly estimateStorage?: StorageEstimator | undefined;
}

/** The first pause after a lost race is up to twice this (ms); each further loss doubles it. */
const CONFLICT_PAUSE_MS = 5;
/** The longest pause between two rounds of one sync (ms). */
const CONFLICT_PAUSE_MAX_MS = 1000;

/** Most versions one push plans (and records in flight) before the local state moves. */
const VERSIONS_PER_PUSH = 16;

/**
 * What is still in flight of `push` once its first `landed` versions are in the chain: the versions
 * after them, as a push of their own (`null` when none are left).
 */
function stillInFlight(push: InFlightPush, landed: number): InFlightPush | null {
  if (landed >= push.versions.length) return null;
  const parent = landed === 0 ? push.parentVersionId : push.versions[landed - 1]?.versionId;
  return { ...push, parentVersionId: parent ?? push.parentVersionId, versions: push.versions.slice(landed) };
}

/**
 * A push in flight from a base at `baseHeight`, against the snapshot replacing that base: the
 * operations of its versions the snapshot already holds (`included`), and the versions that may
 * still land after it (`keep`, recognised when pulled).
 *
 * The snapshot's record of landed plans decides which versions it holds, even when they were
 * compacted away. Where the record cannot tell (a plan of an earlier release, or a record that
 * starts above the plan's base), a version is looked up by id, and one that cannot be found is
 * taken as never landed: its operations are kept (at worst applied twice, never lost).
 */
async function splitAtSnapshot(
  push: InFlightPush,
  baseHeight: number,
  snapshot: { readonly versionId: Uuid; readonly height: number; readonly landed: LandedPlans },
  inChain: (versionId: Uuid) => Promise<boolean>,
): Promise<{ included: number; keep: InFlightPush | null }> {
  const holds = landedIn(snapshot.landed, push, baseHeight);
  let included = 0;
  for (const [j, version] of push.versions.entries()) {
    if (holds?.(version)) {
      included += version.count;
      continue;
    }
    if (!(await inChain(version.versionId))) {
      // Not (yet) in the chain: it can still land only if its parent is the snapshot's version.
      const parentIsSnapshot = j > 0 && push.versions[j - 1]?.versionId === snapshot.versionId;
      return { included, keep: parentIsSnapshot ? stillInFlight(push, j) : null };
    }
    // In the chain after the snapshot (the record says the snapshot does not hold it, or it is
    // higher): pulled next, and recognised then.
    if (holds || baseHeight + 1 + j > snapshot.height) return { included, keep: stillInFlight(push, j) };
    included += version.count;
  }
  return { included, keep: null };
}

/** Whether `push` still carries exactly the head of the queue `pending`. */
function carriesQueueHead(push: InFlightPush, pending: readonly PendingOperation[]): boolean {
  let offset = 0;
  for (const v of push.versions) {
    if (pending[offset]?.seq !== v.firstSeq || offset + v.count > pending.length) return false;
    offset += v.count;
  }
  return true;
}

/**
 * A new push by `replicaId` of the head of `pending`, in versions of `counts` operations (see
 * `planVersions`).
 */
function planPush(
  replicaId: Uuid,
  parentVersionId: Uuid,
  pending: readonly PendingOperation[],
  counts: readonly number[],
): InFlightPush {
  const versions: PushedVersion[] = [];
  let offset = 0;
  for (const count of counts) {
    versions.push({ versionId: crypto.randomUUID(), firstSeq: pending[offset]?.seq ?? 0, count });
    offset += count;
  }
  return { replicaId, parentVersionId, versions };
}

/** Whether the remote refused a write for its size (HTTP 413): nothing of it was applied. */
function tooLarge(error: unknown): boolean {
  return error instanceof RemoteError && error.determinate && error.status === 413;
}

/** The result of a sync that has done nothing yet (fresh arrays: a sync adds to them). */
export function emptySyncResult(): SyncResult {
  return {
    pulledVersions: 0,
    pushedVersions: 0,
    pushedVersionIds: [],
    pushedOperations: 0,
    dropped: [],
    overridden: [],
    reset: null,
    snapshotUploaded: false,
    snapshotError: null,
  };
}

/** Pulls, rebases and pushes one replica's chain. Calls to {@link SyncEngine.sync} run one at a time. */
export class SyncEngine {
  readonly #host: SyncHost;
  readonly #config: SyncConfig;
  readonly #maxOps: number;
  readonly #pageSize: number;
  readonly #timers: Timers;
  /** The most bytes the remote says one version may carry (`Storage.limits()`), once read. */
  #statedLimit: number | null = null;
  /** One less than the smallest version the remote refused with 413 (its limit, as far as known). */
  #refusedLimit: number | null = null;
  /** After a 413 of a version of several operations: plan versions at most this big. */
  #planTarget: number | null = null;
  #envelope: Promise<EnvelopeKey> | null = null;
  #running: Promise<unknown> = Promise.resolve();
  /** The last snapshot upload failed: the next sync tries again, even with nothing to push. */
  #snapshotOwed = false;
  /** The last compaction left work (or failed): the next sync continues it. */
  #compactionOwed = false;
  /** The snapshot the running sync replaced the base with, if it did (syncs run one at a time). */
  #reset: { readonly versionId: Uuid; readonly height: number } | null = null;

  constructor(host: SyncHost, config: SyncConfig) {
    this.#host = host;
    this.#config = config;
    this.#maxOps = config.maxOperationsPerVersion ?? 1000;
    this.#pageSize = config.pullPageSize ?? 100;
    this.#timers = config.timers ?? realTimers;
  }

  /**
   * The most bytes one version may carry, as far as this engine knows: the configured
   * `maxVersionBytes`, lowered by the remote's limit once a sync read it (or met a 413).
   */
  versionLimit(): VersionLimit {
    let limit: VersionLimit = {
      bytes: this.#config.maxVersionBytes ?? DEFAULT_MAX_VERSION_BYTES,
      source: 'maxVersionBytes',
    };
    if (this.#statedLimit !== null && this.#statedLimit < limit.bytes)
      limit = { bytes: this.#statedLimit, source: "the remote's stated limit" };
    if (this.#refusedLimit !== null && this.#refusedLimit < limit.bytes)
      limit = { bytes: this.#refusedLimit, source: 'the remote refused a larger version with 413' };
    return limit;
  }

  /** Runs one sync, after any sync already running. */
  sync(options: SyncOptions = {}): Promise<SyncResult> {
    const run = this.#running.then(() => this.#sync(options));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #sync(options: SyncOptions): Promise<SyncResult> {
    const env = await this.#key();
    const before = await this.#host.store.readState();
    this.#reset = null;
    await this.#readLimits();
    const result = emptySyncResult();
    try {
      await this.#rounds(env, result);
      this.#config.progress?.finish(true);
    } catch (error) {
      this.#config.progress?.finish(false);
      // A damaged chain is found part-way: say exactly what this sync had applied before it.
      if (error instanceof ChainIntegrityError) throw await this.#saidWhatChanged(error, before, result);
      throw error;
    }
    if (result.pushedVersions > 0 || this.#snapshotOwed) await this.#snapshotAfterSync(env, options, result);
    if (result.snapshotUploaded || this.#compactionOwed) await this.#compactAfterSync(env, result);
    return result;
  }

  /**
   * One bounded compaction call (with `SyncConfig.compaction`, on a Storage that compacts). Like a
   * snapshot, it never fails the sync: what went wrong is in `result.compaction`, and the next sync
   * continues, as it does when the call left work.
   */
  async #compactAfterSync(env: EnvelopeKey, result: SyncResult): Promise<void> {
    const { storage, clientId, compaction } = this.#config;
    if (!compaction || !storage.compact) return;
    const now = (this.#config.clock ?? Date.now)();
    let report: CompactionReport;
    try {
      report = await storage.compact(clientId, { ...compaction, now });
      result.compaction = { report };
      this.#compactionOwed = report.more;
    } catch (error) {
      result.compaction = { error: serializeError(error) };
      this.#compactionOwed = true;
      return;
    }
    const { collectBlobs } = this.#config;
    if (!collectBlobs) return;
    const { retainedFrom } = report;
    const graceMs = (compaction.keepDays ?? DEFAULT_KEEP_DAYS) * DAY_MS;
    try {
      const blobs: RemoteBlobGcReport =
        retainedFrom === undefined
          ? // Not knowing what the retained versions reference, nothing may go.
            {
              deleted: 0,
              more: false,
              unsupported: 'the storage does not say where the retained versions start',
            }
          : await collectBlobs(
              () => this.#retainedBlobRefs(env, retainedFrom),
              graceMs,
              compaction.maxDeletes,
            );
      result.compaction = { report, blobs: { report: blobs } };
      this.#compactionOwed ||= blobs.more;
    } catch (error) {
      result.compaction = { report, blobs: { error: serializeError(error) } };
      this.#compactionOwed = true;
    }
  }

  /**
   * The blob references in the operations of every version after `from` (the retained ones), up
   * to this replica's base: what a replica catching up within the window may still be shown.
   */
  async #retainedBlobRefs(env: EnvelopeKey, from: Uuid): Promise<BlobRef[]> {
    const state = await this.#host.store.readState();
    const txn = await this.#config.storage.txn(this.#config.clientId);
    const versions: Version[] = [];
    for (let cursor = from; cursor !== state.baseVersionId;) {
      const page = await txn.getVersionsAfter(cursor, this.#pageSize);
      const end = page.findIndex((v) => v.versionId === state.baseVersionId);
      versions.push(...(end < 0 ? page : page.slice(0, end + 1)));
      const last = page.at(-1);
      if (end >= 0 || !last) break;
      cursor = last.versionId;
    }
    // Heights count back from the base (the segments carry theirs, and decoding checks them).
    const first = state.baseHeight - versions.length;
    const refs: BlobRef[] = [];
    for (let i = 0; i < versions.length; i += this.#pageSize) {
      const page = versions.slice(i, i + this.#pageSize);
      const parent = page[0]?.parentVersionId ?? from;
      for (const segment of await this.#decodePage(env, page, parent, first + i)) {
        for (const op of segment.ops) if (op.type === 'update') findBlobRefs(op.value, refs);
      }
    }
    return refs;
  }

  /**
   * Uploads a snapshot if the urgency rules ask for one. Whatever goes wrong is reported in
   * `result.snapshotError`, never thrown: the versions this sync pushed have landed, and a sync
   * that failed after them would tell the caller otherwise. The next sync tries again (even one
   * with nothing to push).
   */
  async #snapshotAfterSync(env: EnvelopeKey, options: SyncOptions, result: SyncResult): Promise<void> {
    try {
      await this.#maybeSnapshot(env, options, result);
      this.#snapshotOwed = false;
    } catch (error) {
      result.snapshotError = serializeError(error);
      this.#snapshotOwed = true;
    }
  }

  /** Pull, rebase and push until the queue is in the chain (or nothing is left to push). */
  async #rounds(env: EnvelopeKey, result: SyncResult): Promise<void> {
    const maxRounds = this.#config.maxRounds ?? 50;
    for (let round = 0; ; round++) {
      if (round >= maxRounds) {
        throw new VersionConflictError(
          `Other replicas kept pushing first for ${maxRounds} rounds; nothing is lost, call sync() again.`,
        );
      }
      // After a lost race, wait a random while (growing with each loss) before trying again:
      // replicas racing in lockstep would otherwise keep colliding, and one could lose every round.
      if (round > 0) {
        const pause = Math.min(CONFLICT_PAUSE_MAX_MS, CONFLICT_PAUSE_MS * 2 ** round);
        await sleep(this.#timers.random() * pause, undefined, this.#timers);
      }
      // One transaction reads the chain and, when nothing was pushed since, commits the first
      // version of the push: a round trip less than reading the client again.
      const txn = await this.#config.storage.txn(this.#config.clientId);
      await this.#pull(env, result, txn);
      if ((await this.#pushAll(env, result, txn)) === 'done') return;
    }
  }

  /**
   * `error` (found during a sync that started at `before`) with the truth about the local replica
   * appended: nothing changed, or what this sync had applied (all of it verified) before the
   * damage was found, and where the replica stands now.
   */
  async #saidWhatChanged(
    error: ChainIntegrityError,
    before: ReplicaState,
    result: SyncResult,
  ): Promise<ChainIntegrityError> {
    const now = await this.#host.store.readState();
    if (now.baseVersionId === before.baseVersionId && !this.#reset) {
      return new ChainIntegrityError(`${error.message} Nothing local was changed.`, { cause: error });
    }
    const applied: string[] = [];
    if (this.#reset) {
      const { versionId, height } = this.#reset;
      applied.push(`the snapshot of version ${versionId} (height ${height})`);
    }
    const versions = (n: number) => `${n} version${n === 1 ? '' : 's'}`;
    if (result.pulledVersions > 0) applied.push(`${versions(result.pulledVersions)} of other replicas`);
    if (result.pushedVersions > 0) applied.push(`${versions(result.pushedVersions)} of its own`);
    return new ChainIntegrityError(
      `${error.message} Before that, this sync had applied ${applied.join(' and ')} (all verified): the replica now stands on version ${now.baseVersionId} (height ${now.baseHeight}), and nothing after it was applied.`,
      { cause: error },
    );
  }

  /** Reads what the remote says one version may carry (a storage that states nothing leaves it). */
  async #readLimits(): Promise<void> {
    const limits = await this.#config.storage.limits?.();
    const stated = limits?.maxSegmentBytes;
    this.#statedLimit = isPositiveInteger(stated) ? stated : null;
  }

  /** The envelope key, derived once per engine (PBKDF2 is slow on purpose). */
  #key(): Promise<EnvelopeKey> {
    this.#envelope ??= this.#openKey().catch((error: unknown) => {
      this.#envelope = null; // let a later sync retry (e.g. the key record was unreachable)
      throw error;
    });
    return this.#envelope;
  }

  async #openKey(): Promise<EnvelopeKey> {
    const { kv, clientId, secret, maxDecodedBytes } = this.#config;
    if (secret === undefined) {
      if (kv && (await isEncrypted(kv, clientId))) {
        throw new WrongSecretError('This replica set is encrypted: open the replica with its secret.');
      }
      return { key: null, maxDecodedBytes };
    }
    if (!kv) throw new WrongSecretError('A secret needs a CasKv (`kv`) to keep the encryption salt in.');
    const iterations = this.#config.testOnlyPbkdf2Iterations ?? PBKDF2_ITERATIONS;
    // Read only when the encryption record is missing: is the data set new, never encrypted, or
    // did it lose its record? The oldest data still on the server tells (its envelope's first byte).
    const chainHolds = async (): Promise<ChainContent> => {
      const txn = await this.#config.storage.txn(clientId);
      const client = await txn.getClient();
      if (!client || (client.latestVersionId === NIL_UUID && !client.snapshot)) return 'nothing';
      const oldest = client.snapshot
        ? await txn.getSnapshotData(client.snapshot.versionId)
        : (await txn.getVersionsAfter(NIL_UUID, 1))[0]?.historySegment;
      return oldest?.[0] === PLAIN_FORMAT ? 'plaintext' : 'sealed';
    };
    const { openEncryptionKey } = await sealingPart.load();
    const key = await openEncryptionKey(kv, clientId, secret, iterations, chainHolds);
    this.#config.onEncryptionKey?.(key);
    return { key, maxDecodedBytes };
  }

  // ---- pull -------------------------------------------------------------------------------------

  async #pull(env: EnvelopeKey, result: SyncResult, txn: StorageTxn): Promise<void> {
    const { store } = this.#host;
    const client = await txn.getClient();
    let state = await store.readState();
    if (!client || client.latestVersionId === NIL_UUID) {
      if (state.baseVersionId !== NIL_UUID) {
        throw new ChainIntegrityError(
          `The remote chain is empty, but this replica already synced version ${state.baseVersionId}: the server was rolled back or wiped.`,
        );
      }
      return;
    }
    // A fresh replica starts from the snapshot, unless it has a push in flight: then it reads the
    // chain from the start, so it can recognise that push if it landed.
    if (state.baseVersionId === NIL_UUID && client.snapshot && !state.inFlight) {
      const snapshot = await this.#readSnapshot(env, txn, client);
      await this.#applyReset(snapshot, 0, null);
      result.reset = 'bootstrap';
      state = await store.readState();
    }
    let recovered = false;
    for (;;) {
      let cursor = state.baseVersionId;
      let height = state.baseHeight;
      let reachedLatest = cursor === client.latestVersionId;
      // The next page downloads while this one is decrypted and applied. At the latest version
      // already, there is nothing after it in this transaction's view: no lookup (on a remote, a
      // request answered 404 on every idle sync).
      if (!reachedLatest && this.#config.progress) {
        // Counted before the first page is asked for: a remote storage keeps what the count looked
        // up for that read, so the total costs no request more.
        this.#config.progress.begin('pull', (await txn.countVersionsAfter?.(cursor)) ?? null);
      }
      let page = reachedLatest ? Promise.resolve([]) : txn.getVersionsAfter(cursor, this.#pageSize);
      for (;;) {
        const versions = await page;
        if (versions.length === 0) break;
        const last = versions.at(-1)?.versionId ?? cursor;
        const more = versions.length === this.#pageSize && last !== client.latestVersionId;
        page = more ? txn.getVersionsAfter(last, this.#pageSize) : Promise.resolve([]);
        // It may fail while this page is applied: awaited below (or no longer needed), not unhandled.
        page.catch(() => undefined);
        const segments = await this.#decodePage(env, versions, cursor, height);
        await this.#applyPage(versions, segments, height, result);
        this.#config.progress?.page(
          versions.length,
          versions.reduce((n, v) => n + v.historySegment.byteLength, 0),
        );
        reachedLatest ||= versions.some((v) => v.versionId === client.latestVersionId);
        cursor = last;
        height += versions.length;
        if (!more) break;
      }
      if (reachedLatest) return;
      // The base is not an ancestor of the remote head: pruned (recover) or rolled back (refuse).
      if (!recovered && client.snapshot) {
        const snapshot = await this.#readSnapshot(env, txn, client);
        if (snapshot.height > height) {
          await this.#recover(txn, snapshot);
          result.reset = 'recovered';
          recovered = true;
          state = await store.readState();
          continue;
        }
      }
      throw new ChainIntegrityError(
        `The remote chain does not contain version ${cursor} (height ${height}) that this replica already synced: the server rolled back or forked the chain.`,
      );
    }
  }

  async #decodePage(
    env: EnvelopeKey,
    versions: Version[],
    parent: Uuid,
    height: number,
  ): Promise<DecodedSegment[]> {
    let expectedParent = parent;
    for (const v of versions) {
      if (v.parentVersionId !== expectedParent) {
        throw new ChainIntegrityError(
          `The remote returned version ${v.versionId} after ${expectedParent}, but its parent is ${v.parentVersionId}: the chain was reordered.`,
        );
      }
      expectedParent = v.versionId;
    }
    const clientId = this.#config.clientId;
    return decodeSegments(
      env,
      versions.map((v, i) => ({
        place: {
          clientId,
          versionId: v.versionId,
          parentVersionId: v.parentVersionId,
          height: height + 1 + i,
        },
        bytes: v.historySegment,
      })),
    );
  }

  async #applyPage(
    versions: Version[],
    segments: DecodedSegment[],
    height: number,
    result: SyncResult,
  ): Promise<void> {
    const { store, lock } = this.#host;
    await lock.run(async () => {
      const state = await store.readState();
      // Our versions in flight show up in order, from the first; a foreign version ends them (the
      // rest can no longer land: their parent is not the latest any more).
      const push = state.inFlight;
      let own = 0;
      let foreign = false;
      const steps: ChainStep[] = versions.map((v, i) => {
        const mine = push?.versions[own];
        if (!foreign && mine?.versionId === v.versionId) {
          own++;
          return { kind: 'own', count: mine.count };
        }
        foreign = true;
        return { kind: 'foreign', ops: segments[i]?.ops ?? [] };
      });
      const last = versions.at(-1)?.versionId ?? state.baseVersionId;
      const inFlight = push && !foreign ? stillInFlight(push, own) : null;
      const moved = movedTo(
        last,
        height + versions.length,
        versions.map((v) => v.versionId),
      );
      const authors = segments.map((segment) => segment.author);
      const advance = await advanceBase(store, steps, (s) => ({
        ...moved(s),
        inFlight,
        landed: foldLanded(landedOf(s), authors),
      }));
      await this.#commitPulled(
        advance.write,
        `${versions.length} version${versions.length === 1 ? '' : 's'}`,
      );
      versions.forEach((version, i) => {
        const step = steps[i];
        if (step?.kind === 'own') {
          result.pushedVersions++;
          result.pushedVersionIds.push(version.versionId);
          result.pushedOperations += step.count;
        } else result.pulledVersions++;
      });
      const dropped = advance.dropped.map((p) => p.op);
      result.dropped.push(...dropped);
      result.overridden.push(...advance.overridden);
      if (advance.changed.length > 0 || dropped.length > 0 || advance.overridden.length > 0)
        this.#host.notify({ objects: advance.changed, dropped, overridden: advance.overridden });
    });
  }

  /**
   * Commits what a pull brought (`what`, for people). One atomic commit: refused for lack of space,
   * nothing of it is written, and the error says how much it needed (the next sync goes on from
   * the last page that was committed).
   */
  async #commitPulled(write: ReplicaWrite, what: string): Promise<void> {
    try {
      await this.#host.store.commit(write);
    } catch (error) {
      throw await explainQuotaError(error, what, write, this.#config.estimateStorage);
    }
  }

  async #readSnapshot(env: EnvelopeKey, txn: StorageTxn, client: Client) {
    const meta = client.snapshot;
    if (!meta) throw new ChainIntegrityError('The remote snapshot vanished while it was being read.');
    const progress = this.#config.progress;
    progress?.begin('bootstrap', 1);
    // Read in parts, the snapshot is counted in parts (its size known from the start); else as one.
    let parted = false;
    const onPart = progress
      ? (partBytes: number, whole: { readonly parts: number; readonly bytes: number }) => {
          if (!parted) progress.begin('bootstrap', whole.parts, whole.bytes);
          parted = true;
          progress.page(1, partBytes);
        }
      : undefined;
    const data = await txn.getSnapshotData(meta.versionId, onPart);
    if (!parted) progress?.page(data ? 1 : 0, data?.byteLength ?? 0);
    if (!data)
      throw new ChainIntegrityError(
        `The remote lists a snapshot of ${meta.versionId} but has no data for it.`,
      );
    return decodeSnapshot(env, this.#config.clientId, meta.versionId, data);
  }

  /**
   * Replaces a pruned or compacted base by the snapshot. A push in flight is resolved first (see
   * `splitAtSnapshot`): what the snapshot holds of it is dropped from the queue; what landed after
   * it is pulled next and recognised; what never landed is kept and pushed.
   */
  async #recover(txn: StorageTxn, snapshot: SnapshotContent): Promise<void> {
    const state = await this.#host.store.readState();
    const { included, keep } = state.inFlight
      ? await splitAtSnapshot(state.inFlight, state.baseHeight, snapshot, async (id) =>
          Boolean(await txn.getVersion(id)),
        )
      : { included: 0, keep: null };
    await this.#applyReset(snapshot, included, keep);
  }

  async #applyReset(
    snapshot: SnapshotContent,
    included: number,
    inFlight: InFlightPush | null,
  ): Promise<void> {
    const { store, lock } = this.#host;
    const { objects, versionId, height, landed } = snapshot;
    const next = movedTo(versionId, height);
    await lock.run(async () => {
      const write = await resetBase(store, objects, included, (s) => ({ ...next(s), inFlight, landed }));
      await this.#commitPulled(write, `the snapshot of version ${versionId} (${objects.length} objects)`);
      this.#reset = { versionId, height };
      this.#host.notify({ objects: 'all', dropped: [], overridden: [] });
    });
  }

  // ---- push -------------------------------------------------------------------------------------

  /**
   * Pushes the pending queue in batches, several versions per plan; `'conflict'` when another
   * replica got there first. The local state moves once per plan, not per version: pushing the
   * whole queue ends in one commit that empties it.
   */
  async #pushAll(env: EnvelopeKey, result: SyncResult, pulled: StorageTxn): Promise<'done' | 'conflict'> {
    let txn: StorageTxn | null = pulled;
    for (;;) {
      const prepared = await this.#preparePush();
      if (!prepared) return 'done';
      if ('stuck' in prepared) throw operationsStuck(prepared.stuck, this.versionLimit());
      const { push, batches, height } = prepared;
      // The queue as it stands is this push's total (operations; a later round adds what is left).
      const progress = this.#config.progress;
      if (progress) progress.begin('push', await this.#host.store.countPending());
      let landed = 0;
      let parent = push.parentVersionId;
      let failure: { error: unknown } | null = null;
      /** The size of the segment being added, while it is. */
      let sending: number | null = null;
      try {
        for (const [j, version] of push.versions.entries()) {
          const ops = batches[j] ?? [];
          await this.#config.beforePush?.(ops);
          const segment = await encodeSegment(
            env,
            {
              clientId: this.#config.clientId,
              versionId: version.versionId,
              parentVersionId: parent,
              height: height + j,
            },
            ops,
            authorsOf(push, [version])[0] ?? null,
          );
          const open = txn;
          txn = null; // a transaction commits once, or not at all
          sending = segment.length;
          const added = await this.#addVersion(version.versionId, parent, segment, open);
          sending = null;
          if (added === 'conflict') break;
          this.#config.progress?.page(version.count, segment.length);
          landed++;
          parent = version.versionId;
        }
      } catch (error) {
        failure = { error }; // what landed before it is folded in all the same
      }
      if (landed > 0) await this.#advanceOwn(push, landed, height, result);
      if (!failure) {
        if (landed < push.versions.length) return 'conflict';
        continue;
      }
      const refused = push.versions[landed];
      if (sending === null || !refused || !tooLarge(failure.error)) throw failure.error;
      // The remote refused a version for its size: re-plan the rest under what it accepts.
      const op = batches[landed]?.[0];
      await this.#refused(refused, sending);
      if (refused.count === 1 && op) {
        const stuck: StuckOperation = { seq: refused.firstSeq, ...oversized(op, sending) };
        throw operationsStuck([stuck], this.versionLimit(), { cause: failure.error });
      }
    }
  }

  /**
   * `version` (the first still in flight) was refused with 413, a body of `bytes`: lowers the limit
   * and the planning target, and forgets the push from it on. That is safe: a version the remote
   * refuses for its size cannot have landed in an earlier attempt (the same operations, the same
   * size), nor can its children (their parent is not in the chain).
   */
  async #refused(version: PushedVersion, bytes: number): Promise<void> {
    this.#refusedLimit = Math.min(this.#refusedLimit ?? bytes, bytes - 1);
    this.#planTarget = Math.max(1, Math.floor(bytes / 2));
    const { store, lock } = this.#host;
    await lock.run(async () => {
      const state = await store.readState();
      if (state.inFlight?.versions[0]?.versionId === version.versionId)
        await store.commit({ state: { ...state, inFlight: null } });
    });
  }

  /** Moves the base over the first `landed` versions of `push`, which are now in the chain. */
  async #advanceOwn(push: InFlightPush, landed: number, height: number, result: SyncResult): Promise<void> {
    const { store, lock } = this.#host;
    const versions = push.versions.slice(0, landed);
    const moved = movedTo(
      versions.at(-1)?.versionId ?? push.parentVersionId,
      height + landed - 1,
      versions.map((v) => v.versionId),
    );
    const inFlight = stillInFlight(push, landed);
    const authors = authorsOf(push, versions);
    await lock.run(async () => {
      const advance = await advanceBase(
        store,
        versions.map((v) => ({ kind: 'own', count: v.count })),
        (s) => ({ ...moved(s), inFlight, landed: foldLanded(landedOf(s), authors) }),
      );
      await store.commit(advance.write);
      if (advance.changed.length > 0)
        this.#host.notify({ objects: advance.changed, dropped: [], overridden: [] });
    });
    result.pushedVersions += landed;
    result.pushedVersionIds.push(...versions.map((v) => v.versionId));
    result.pushedOperations += versions.reduce((n, v) => n + v.count, 0);
  }

  /**
   * Plans the next push (up to {@link VERSIONS_PER_PUSH} versions of the queue's head, each under
   * the operation count and the encoded size one version may carry) and records it as in flight
   * before anything is sent, so a push whose outcome is unknown (a crash, an
   * indeterminate error) is recognised when its versions show up in the chain and never applied
   * twice. An unresolved plan is retried under the same version ids. When the head of the queue fits
   * in no version under the limit, nothing is planned: the stuck operations are returned.
   */
  async #preparePush(): Promise<
    { push: InFlightPush; batches: Operation[][]; height: number } | { stuck: StuckOperation[] } | null
  > {
    const { store, lock } = this.#host;
    const limit = this.versionLimit().bytes;
    const target = Math.min(limit, this.#planTarget ?? limit);
    return lock.run(async () => {
      const state = await store.readState();
      const pending: PendingOperation[] = await store.getPending(this.#maxOps * VERSIONS_PER_PUSH);
      if (pending.length === 0) return null;
      const previous = state.inFlight;
      let push: InFlightPush;
      if (
        previous &&
        previous.parentVersionId === state.baseVersionId &&
        carriesQueueHead(previous, pending)
      ) {
        push = previous;
      } else {
        const plan = await planVersions(pending, {
          maxOps: this.#maxOps,
          maxVersions: VERSIONS_PER_PUSH,
          target,
          limit,
          sealed: this.#config.secret !== undefined,
        });
        if (plan.counts.length === 0) return { stuck: plan.stuck };
        // The replica's id in the chain's record of landed plans, made with its first plan.
        const replicaId = state.replicaId ?? crypto.randomUUID();
        push = planPush(replicaId, state.baseVersionId, pending, plan.counts);
        await store.commit({ state: { ...state, replicaId, inFlight: push } });
      }
      let offset = 0;
      const batches = push.versions.map((v) => pending.slice(offset, (offset += v.count)).map((p) => p.op));
      return { push, batches, height: state.baseHeight + 1 };
    });
  }

  async #addVersion(
    versionId: Uuid,
    parentVersionId: Uuid,
    segment: Uint8Array,
    /** A transaction that has read the client and not committed yet, to use instead of a new one. */
    openTxn: StorageTxn | null,
  ): Promise<'added' | 'conflict'> {
    const { storage, clientId } = this.#config;
    try {
      const txn = openTxn ?? (await storage.txn(clientId));
      const client = await txn.getClient();
      if (!client) await txn.newClient(NIL_UUID);
      else if (client.latestVersionId !== parentVersionId && client.latestVersionId !== NIL_UUID) {
        return 'conflict';
      }
      await txn.addVersion(versionId, parentVersionId, segment);
      await txn.commit();
      return 'added';
    } catch (error) {
      if (
        error instanceof VersionConflictError ||
        error instanceof TransactionConflictError ||
        error instanceof AlreadyExistsError
      ) {
        return 'conflict';
      }
      if (error instanceof RemoteError && !error.determinate) {
        // The write may have landed: read back instead of retrying blindly. If it has not, the
        // next round pulls (recognising it, should it land late) and retries under the same id.
        const check = await storage.txn(clientId);
        const landed = await check.getVersion(versionId);
        return landed ? 'added' : 'conflict';
      }
      throw error;
    }
  }

  // ---- snapshots --------------------------------------------------------------------------------

  async #maybeSnapshot(env: EnvelopeKey, options: SyncOptions, result: SyncResult): Promise<void> {
    const { storage, clientId } = this.#config;
    const txn = await storage.txn(clientId);
    const client = await txn.getClient();
    const state = await this.#host.store.readState();
    if (!client || client.latestVersionId !== state.baseVersionId) return;
    const now = (this.#config.clock ?? Date.now)();
    const urgency = snapshotUrgency(
      client.snapshot,
      now,
      this.#config.snapshotPolicy ?? DEFAULT_SNAPSHOT_POLICY,
    );
    if (urgency === 'none' || (urgency === 'low' && options.avoidSnapshots)) return;
    const base = await this.#baseObjects(state.baseVersionId);
    if (!base) return; // the base moved meanwhile; the next sync tries again
    const data = await encodeSnapshot(env, clientId, {
      versionId: state.baseVersionId,
      height: state.baseHeight,
      objects: base.objects,
      landed: base.landed,
    });
    try {
      await txn.setSnapshot({ versionId: state.baseVersionId, timestamp: now, versionsSince: 0 }, data);
      await txn.commit();
      result.snapshotUploaded = true;
    } catch (error) {
      // Someone pushed meanwhile: this snapshot is of an older version; skip it, the next sync retries.
      if (!(error instanceof TransactionConflictError)) throw error;
    }
  }

  /**
   * The data set as of the base version (the working set with the shadows laid over it) and the
   * record of landed plans there: what a snapshot of the base holds.
   */
  async #baseObjects(baseVersionId: Uuid): Promise<{ objects: StoredObject[]; landed: LandedPlans } | null> {
    const { store, lock } = this.#host;
    return lock.run(async () => {
      const [state, working, shadows] = await Promise.all([
        store.readState(),
        store.listObjects(),
        store.getShadows(),
      ]);
      if (state.baseVersionId !== baseVersionId) return null;
      const byKey = new Map<string, StoredObject>(working.map((o) => [objectKey(o), o]));
      for (const s of shadows) {
        if (s.properties)
          byKey.set(objectKey(s), { collection: s.collection, id: s.id, properties: s.properties });
        else byKey.delete(objectKey(s));
      }
      return { objects: [...byKey.values()], landed: landedOf(state) };
    });
  }
}
