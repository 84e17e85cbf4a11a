import { InvalidArgumentError } from '../../src/contracts/errors.js';
import type { CompactionPolicy, Uuid } from '../../src/contracts/storage.js';
import { assertSchedule, type SyncSchedule } from '../../src/core/sync-scheduler.js';
import { assertCompactionPolicy, assertUuid } from '../../src/core/validate.js';
import { assertRemoteConfig, type RemoteConfig } from '../../src/remote/remote-config.js';
import { assertBlobGarbageInterval } from '../../src/sync/blob-collector.js';
import { assertMaxDecodedBytes } from '../../src/sync/envelope.js';
import { assertSnapshotPolicy, type SnapshotPolicy } from '../../src/sync/snapshots.js';
import { assertMaxVersionBytes } from '../../src/sync/version-size.js';

/** Options of `ReplicaHost.open`: plain data, as they cross the worker boundary. */
export interface HostedReplicaOptions {
  /** The data set's id, shared by all its replicas (every device and tab). */
  readonly clientId: Uuid;
  /**
   * Where to sync; without it the replica works offline only. Plain data, except its credentials or
   * token function, which `openReplica` keeps on the main thread and hands over as a proxy.
   */
  readonly remote?: RemoteConfig;
  /**
   * Encrypts everything stored remotely: the data set's secret (a key an earlier sync derived is
   * accepted too; `chainsync/sw` opens with it).
   */
  readonly secret?: string | CryptoKey;
  /**
   * Lets the app's service worker sync this replica while no page is open (`chainsync/sw`): when a
   * sync fails for lack of network with edits pending, the page registers a Background Sync, and
   * the service worker's `sync` event pushes them. The engine keeps what that needs in the store's
   * database: these options (never a function, never the secret) and, for an encrypted data set,
   * the key a sync derived (non-extractable). `false` (the default) removes them. Needs a remote
   * without a credentials or token function (a service worker cannot call into a closed page).
   * Where the browser has no Background Sync (Firefox, Safari), nothing changes: the next open syncs.
   */
  readonly backgroundSync?: boolean;
  readonly schedule?: SyncSchedule;
  /** Versions fetched per remote read (default 100). */
  readonly pullPageSize?: number;
  /** Most operations per pushed version (default 1000). */
  readonly maxOperationsPerVersion?: number;
  /**
   * The largest body a pulled segment or snapshot may inflate to, in bytes (default 256 MiB, from
   * 64 KiB to 4 GiB - 1): what a hostile server's decompression bomb can cost (`ReplicaOptions`).
   */
  readonly maxDecodedBytes?: number;
  /**
   * Most bytes one pushed version may carry, encoded (default 4 MiB); the remote's own limit applies
   * too once known. A write with an operation that could never fit is refused (`OPERATION_TOO_LARGE`):
   * put large values in blobs.
   */
  readonly maxVersionBytes?: number;
  /**
   * The leader collects blob garbage (local blobs nothing references or leases) after a
   * successful sync at most this often, in ms (default 10 minutes; 0: after every sync).
   */
  readonly blobGarbageIntervalMs?: number;
  /**
   * When the leader uploads a snapshot after a sync (default `{ versions: 100, days: 14 }`): due
   * after `versions` versions or `days` days since the last one, welcome at half of either.
   */
  readonly snapshotPolicy?: SnapshotPolicy;
  /**
   * Compacts the remote history behind each snapshot the leader uploads (docs/compaction.md):
   * commits more than `keepCommits` (default 1,000) behind it and older than `keepDays` (default 30)
   * are deleted, at most `maxDeletes` objects (default 256) per sync. Off when absent. Every replica
   * of the data set must run a release that knows compaction; see the README's "Compaction".
   */
  readonly compaction?: CompactionPolicy;
  /** TEST ONLY: fewer PBKDF2 iterations. Never set this in an application. */
  readonly testOnlyPbkdf2Iterations?: number;
}

/** Checks {@link HostedReplicaOptions} before anything is opened; throws INVALID_ARGUMENT naming the field. */
export function assertHostedReplicaOptions(options: unknown): asserts options is HostedReplicaOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected { clientId, remote?, secret?, schedule? }.');
  }
  const o = options as Partial<Record<keyof HostedReplicaOptions, unknown>>;
  assertUuid(o.clientId, 'options.clientId');
  if (o.remote !== undefined) assertRemoteConfig(o.remote);
  if (o.schedule !== undefined) assertSchedule(o.schedule);
  if (o.blobGarbageIntervalMs !== undefined) assertBlobGarbageInterval(o.blobGarbageIntervalMs);
  if (o.maxDecodedBytes !== undefined) assertMaxDecodedBytes(o.maxDecodedBytes);
  if (o.maxVersionBytes !== undefined) assertMaxVersionBytes(o.maxVersionBytes, 'options.maxVersionBytes');
  if (o.snapshotPolicy !== undefined) assertSnapshotPolicy(o.snapshotPolicy, 'options.snapshotPolicy');
  if (o.compaction !== undefined) assertCompactionPolicy(o.compaction, 'options.compaction');
  if (o.backgroundSync !== undefined && typeof o.backgroundSync !== 'boolean') {
    throw new InvalidArgumentError('options.backgroundSync', 'expected true or false.');
  }
}
