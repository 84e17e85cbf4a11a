/**
 * Every failure chainsync reports is a {@link ChainsyncError} with a stable {@link ErrorCode}.
 * Callers branch on `error.code` (or `instanceof`); messages are for people and may change.
 *
 * Errors cross the worker boundary as plain data ({@link serializeError}) and are revived into the
 * same classes on the other side ({@link reviveError}), so `instanceof` keeps working there too.
 */

/** The stable codes. New codes may be added; existing ones never change meaning. */
export type ErrorCode =
  // bad input: the call changed nothing
  | 'INVALID_ARGUMENT'
  // CasKv
  | 'ALREADY_EXISTS'
  | 'REVISION_MISMATCH'
  // Consensus and Storage
  | 'NOT_FOUND'
  | 'VERSION_CONFLICT'
  | 'TRANSACTION_CONFLICT'
  | 'TRANSACTION_FINISHED'
  | 'SNAPSHOT_MISMATCH'
  // BlobStorage
  | 'CONTENT_NOT_FOUND'
  | 'CONTENT_MISMATCH'
  // remote backends
  | 'PRECONDITION_FAILED'
  | 'WEAK_ETAG'
  | 'REMOTE_FAILED'
  | 'REMOTE_INDETERMINATE'
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_SERVER'
  | 'REMOTE_UNREACHABLE'
  // runtime
  | 'QUOTA_EXCEEDED'
  | 'STORE_CLOSED'
  | 'WORKER_TERMINATED'
  | 'ABORTED'
  // sync and encryption
  | 'WRONG_SECRET'
  | 'CHAIN_INTEGRITY'
  | 'NOT_ENCRYPTED'
  // operations too big for one version (issue 10 item 2)
  | 'OPERATION_TOO_LARGE'
  | 'OPERATIONS_STUCK'
  // the reference server
  | 'DIRECTORY_IN_USE'
  // deleting a replica's local data (issue 15 item 11)
  | 'UNSYNCED_CHANGES'
  // credentials that expire (issue 15 item 10)
  | 'REMOTE_CREDENTIALS'
  // a browser without a platform feature the engine needs (issue 17)
  | 'UNSUPPORTED_BROWSER'
  // a part of the engine loaded on first use could not be loaded (issue 13 part 4)
  | 'CODE_LOAD_FAILED';

/** Base class of every error chainsync throws. */
export abstract class ChainsyncError extends Error {
  /** Stable, machine-readable code. */
  abstract readonly code: ErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Every class of this module states its name on its prototype (see `named` below), as a
    // literal: a minifier renames classes, so `new.target.name` would read "me" or "C" there. A
    // subclass defined elsewhere that states none still gets its own (possibly minified) name.
    if (!Object.hasOwn(new.target.prototype, 'name')) this.name = new.target.name;
  }
}

/** An argument was malformed: wrong type, empty or over-long key, SeqNo out of range, … Nothing changed. */
export class InvalidArgumentError extends ChainsyncError {
  readonly code = 'INVALID_ARGUMENT';
  /** Name of the offending argument, e.g. `key` or `next.seqno`. */
  readonly argument: string;
  constructor(argument: string, message: string, options?: ErrorOptions) {
    super(`Invalid ${argument}: ${message}`, options);
    this.argument = argument;
  }
}

/** `CasKv.create` found a live value, `Storage.newClient` found the client, or an id was reused. */
export class AlreadyExistsError extends ChainsyncError {
  readonly code = 'ALREADY_EXISTS';
}

/** A CasKv compare-and-swap found a version other than the expected one. Re-read and retry. */
export class RevisionMismatchError extends ChainsyncError {
  readonly code = 'REVISION_MISMATCH';
}

/** The thing the call needs does not exist (a Consensus key to truncate, a Storage client). */
export class NotFoundError extends ChainsyncError {
  readonly code = 'NOT_FOUND';
}

/** `StorageTxn.addVersion`: the client's latest version is not the given parent. Pull, then retry. */
export class VersionConflictError extends ChainsyncError {
  readonly code = 'VERSION_CONFLICT';
}

/** `StorageTxn.commit`: another transaction changed the client since this one read it. Nothing was applied. */
export class TransactionConflictError extends ChainsyncError {
  readonly code = 'TRANSACTION_CONFLICT';
}

/** A transaction was used after `commit()`, or committed twice. */
export class TransactionFinishedError extends ChainsyncError {
  readonly code = 'TRANSACTION_FINISHED';
}

/** `StorageTxn.getSnapshotData` was asked for a version that is not the client's current snapshot. */
export class SnapshotMismatchError extends ChainsyncError {
  readonly code = 'SNAPSHOT_MISMATCH';
}

/** BlobStorage holds no content with this id. */
export class ContentNotFoundError extends ChainsyncError {
  readonly code = 'CONTENT_NOT_FOUND';
}

/** The data given to `BlobStorage.store` does not hash to the given ContentId. */
export class ContentMismatchError extends ChainsyncError {
  readonly code = 'CONTENT_MISMATCH';
}

/**
 * A remote request failed. `determinate` tells whether the request definitely had no effect
 * (`true`) or may have been applied (`false`): an indeterminate write must be resolved by reading
 * back, never by a blind retry of a compare-and-swap.
 */
export abstract class RemoteError extends ChainsyncError {
  abstract readonly determinate: boolean;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  /**
   * The request got no answer because the network failed: the device is offline, the host did not
   * resolve, the connection was refused or cut (or, in a browser, which does not tell these apart,
   * CORS refused the page). `false` when the server answered, or the request timed out or was
   * aborted. An app shows "offline" on it rather than a server fault; chainsync registers a
   * background sync on it (`chainsync/sw`).
   */
  readonly network: boolean;
  constructor(message: string, options?: ErrorOptions & { status?: number | undefined; network?: boolean }) {
    super(message, options);
    this.status = options?.status;
    this.network = options?.network ?? false;
  }
}

/** A conditional write or delete lost: the object's version was not the expected one. Not applied. */
export class PreconditionFailedError extends RemoteError {
  readonly code = 'PRECONDITION_FAILED';
  readonly determinate = true;
}

/** The server gave a weak (`W/`) ETag, which RFC 9110 forbids in `If-Match`: CAS is impossible with it. */
export class WeakETagError extends RemoteError {
  readonly code = 'WEAK_ETAG';
  readonly determinate = true;
}

/** The request definitely had no effect (4xx, connection refused, DNS failure, …). */
export class DeterminateRemoteError extends RemoteError {
  readonly code = 'REMOTE_FAILED';
  readonly determinate = true;
}

/** The request may or may not have been applied (timeout, reset, 5xx after the body was sent). */
export class IndeterminateRemoteError extends RemoteError {
  readonly code = 'REMOTE_INDETERMINATE';
  readonly determinate = false;
}

/** The server refused the credentials (401/403). Not applied. */
export class UnauthorizedError extends RemoteError {
  readonly code = 'UNAUTHORIZED';
  readonly determinate = true;
}

/**
 * The server could not be reached at all: it is down, the URL is wrong, the network is off, or (in
 * a browser) it does not allow the page's origin (CORS) — a browser does not tell these apart. Raised
 * when connecting, before any of the caller's requests was sent, so nothing of the caller's was
 * written; the message names the setting that says where the server is.
 */
export class UnreachableRemoteError extends RemoteError {
  readonly code = 'REMOTE_UNREACHABLE';
  readonly determinate = true;
}

/** The server cannot be synced through: it lacks a capability CAS needs (named in the message). */
export class UnsupportedServerError extends ChainsyncError {
  readonly code = 'UNSUPPORTED_SERVER';
  /** Names of the failed capability checks, as reported by the probe. */
  readonly failed: readonly string[];
  constructor(message: string, failed: readonly string[], options?: ErrorOptions) {
    super(message, options);
    this.failed = failed;
  }
}

// ---- storage quota (issue 16 item 4) -----------------------------------------------------------

/** What a {@link QuotaExceededError} knows of the space: each field is left out where unknown. */
export interface QuotaDetails {
  /** About how many bytes the refused write needed (for a pull: the versions or snapshot it applied). */
  readonly neededBytes?: number;
  /** Bytes the origin used when the write was refused (`navigator.storage.estimate()`). */
  readonly usage?: number;
  /** Bytes the browser allowed the origin then (`navigator.storage.estimate()`). */
  readonly quota?: number;
}

/**
 * The browser refused the write for lack of storage space. Nothing of that write was written (a
 * pull keeps what it applied before, consistent, and the next sync goes on from there). Where
 * known, it says how many bytes the write needed and the origin's usage and quota at the time.
 */
export class QuotaExceededError extends ChainsyncError {
  readonly code = 'QUOTA_EXCEEDED';
  /** About how many bytes the refused write needed; `undefined` where unknown. */
  readonly neededBytes: number | undefined;
  /** The origin's usage when the write was refused, in bytes; `undefined` where unknown. */
  readonly usage: number | undefined;
  /** The origin's quota when the write was refused, in bytes; `undefined` where unknown. */
  readonly quota: number | undefined;
  constructor(message: string, details: QuotaDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.neededBytes = details.neededBytes;
    this.usage = details.usage;
    this.quota = details.quota;
  }
}

/** The store was closed; open it again to continue. */
export class StoreClosedError extends ChainsyncError {
  readonly code = 'STORE_CLOSED';
}

/** The worker running the engine died or was terminated while the call was pending. */
export class WorkerTerminatedError extends ChainsyncError {
  readonly code = 'WORKER_TERMINATED';
}

/** The caller aborted the operation through its AbortSignal. */
export class AbortedError extends ChainsyncError {
  readonly code = 'ABORTED';
}

/** The encryption secret does not open this replica's data. Nothing was changed. */
export class WrongSecretError extends ChainsyncError {
  readonly code = 'WRONG_SECRET';
}

/**
 * The remote chain was tampered with, reordered or rolled back. The message says what the sync had
 * applied locally (verified) before the damage was found, if anything.
 */
export class ChainIntegrityError extends ChainsyncError {
  readonly code = 'CHAIN_INTEGRITY';
}

/**
 * A secret was given for a data set that is not encrypted: its data on the server is plain text and
 * it has no encryption record. The application's configuration, not the server, is at odds: open
 * the replica without `secret`, or start the encrypted data set under another `prefix`. Nothing was
 * changed.
 */
export class NotEncryptedError extends ChainsyncError {
  readonly code = 'NOT_ENCRYPTED';
}

// ---- operations too big for one version -----------------------------------------------------

/** Where an operation too big for one version would have gone. */
export interface OversizedOperation {
  readonly type: 'create' | 'delete' | 'update';
  readonly collection: string;
  readonly id: string;
  /** The property an update sets (absent for creates and deletes). */
  readonly property?: string;
  /** Bytes of the smallest version that could carry the operation (its encoded segment). */
  readonly bytes: number;
}

/**
 * A write was refused: one of its operations alone would make a version larger than one version
 * may be (`limit`, in encoded bytes: the replica's `maxVersionBytes`, or the remote's limit once
 * known). Store large values as blobs (`putBlob`, then the reference in the property). Nothing
 * was changed.
 */
export class OperationTooLargeError extends ChainsyncError implements OversizedOperation {
  readonly code = 'OPERATION_TOO_LARGE';
  readonly limit: number;
  readonly type: OversizedOperation['type'];
  readonly collection: string;
  readonly id: string;
  readonly property?: string;
  readonly bytes: number;
  constructor(message: string, limit: number, operation: OversizedOperation, options?: ErrorOptions) {
    super(message, options);
    this.limit = limit;
    this.type = operation.type;
    this.collection = operation.collection;
    this.id = operation.id;
    if (operation.property !== undefined) this.property = operation.property;
    this.bytes = operation.bytes;
  }
  /** The size of the version the operation would have made: {@link OperationTooLargeError.bytes}. */
  get size(): number {
    return this.bytes;
  }
}

/** A pending operation that cannot be pushed, as {@link OperationsStuckError} names it. */
export interface StuckOperation extends OversizedOperation {
  /** Its place in the pending queue: pass it to `discardPending`. */
  readonly seq: number;
}

/**
 * `sync()` cannot push the head of the pending queue: these operations (each alone) make versions
 * over the remote's limit (`limit`, in encoded bytes), learned after they were written. What came
 * before them was pushed; nothing is lost. Discard them with `discardPending(seqs)` (they are then
 * reported as dropped) so the operations after them can leave the device.
 */
export class OperationsStuckError extends ChainsyncError {
  readonly code = 'OPERATIONS_STUCK';
  readonly limit: number;
  readonly operations: readonly StuckOperation[];
  constructor(message: string, limit: number, operations: readonly StuckOperation[], options?: ErrorOptions) {
    super(message, options);
    this.limit = limit;
    this.operations = operations;
  }
}

/**
 * The reference server was not started: another server holds its object directory (two servers on
 * one directory would break compare-and-swap). The message names the holder and what to do.
 */
export class DirectoryInUseError extends ChainsyncError {
  readonly code = 'DIRECTORY_IN_USE';
  /** The lock file that names the holder. */
  readonly lockPath: string;
  constructor(message: string, lockPath: string, options?: ErrorOptions) {
    super(message, options);
    this.lockPath = lockPath;
  }
}

// ---- deleting a replica's local data ---------------------------------------------------------

/**
 * The local data was not deleted: `pending` operations written on this device have not reached the
 * remote yet, and deleting would lose them. Sync first (until `status().pending` is 0), or pass
 * `{ discardPending: true }` to delete them on purpose. Nothing was deleted.
 */
export class UnsyncedChangesError extends ChainsyncError {
  readonly code = 'UNSYNCED_CHANGES';
  /** How many operations are waiting to be pushed. */
  readonly pending: number;
  constructor(message: string, pending: number, options?: ErrorOptions) {
    super(message, options);
    this.pending = pending;
  }
}

/**
 * The app's credentials function (`remote.credentials`, or `remote.token` as a function) failed or
 * returned something unusable, so the request it was for was never sent: nothing was written.
 * Fix the function (or the service it asks); the next sync calls it again.
 */
export class RemoteCredentialsError extends RemoteError {
  readonly code = 'REMOTE_CREDENTIALS';
  readonly determinate = true;
  /** The setting whose function failed: `remote.credentials` or `remote.token`. */
  readonly setting: string;
  constructor(setting: string, message: string, options?: ErrorOptions) {
    super(`${setting}: ${message}`, options);
    this.setting = setting;
  }
}

/**
 * This browser (or this page: some features exist only in a secure context) lacks a platform
 * feature chainsync needs, named in `feature`; the message says what to do. Nothing was opened.
 */
export class UnsupportedBrowserError extends ChainsyncError {
  readonly code = 'UNSUPPORTED_BROWSER';
  /** The missing feature, as the page would reach it: `navigator.locks`, `indexedDB`, … */
  readonly feature: string;
  constructor(feature: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.feature = feature;
  }
}

/**
 * A part of the engine that is loaded only when a configuration first uses it (the S3 signer,
 * credential renewal, …) could not be loaded: the network failed, or the deployment no longer has
 * the file (a new version replaced the old one's chunks). `part` names it. Nothing was done; the
 * next call loads it again, so check the network or the deployment and retry.
 */
export class CodeLoadError extends ChainsyncError {
  readonly code = 'CODE_LOAD_FAILED';
  /** The part that could not be loaded, e.g. `the S3 request signer`. */
  readonly part: string;
  constructor(part: string, options?: ErrorOptions) {
    super(
      `chainsync could not load ${part} (${String(options?.cause)}): check the network and that the app's deployment still serves chainsync's files (reload the page after an update), then retry.`,
      options,
    );
    this.part = part;
  }
}

type ErrorClass = abstract new (...args: never[]) => ChainsyncError;

/**
 * The name of every error class, written out as strings: minifiers rename classes (and esbuild,
 * Rollup, oxc and terser all do by default), and `error.name` must stay the real class name so
 * `String(error)` and a stack trace read `InvalidArgumentError: …` in any build. Set on the
 * prototype, not on each instance: it is not an own field, so it does not travel among the
 * fields a worker boundary copies, and the `name` the revived error reads is the class's own.
 */
const names: Record<string, ErrorClass> = {
  ChainsyncError: ChainsyncError,
  InvalidArgumentError: InvalidArgumentError,
  AlreadyExistsError: AlreadyExistsError,
  RevisionMismatchError: RevisionMismatchError,
  NotFoundError: NotFoundError,
  VersionConflictError: VersionConflictError,
  TransactionConflictError: TransactionConflictError,
  TransactionFinishedError: TransactionFinishedError,
  SnapshotMismatchError: SnapshotMismatchError,
  ContentNotFoundError: ContentNotFoundError,
  ContentMismatchError: ContentMismatchError,
  RemoteError: RemoteError,
  PreconditionFailedError: PreconditionFailedError,
  WeakETagError: WeakETagError,
  DeterminateRemoteError: DeterminateRemoteError,
  IndeterminateRemoteError: IndeterminateRemoteError,
  UnauthorizedError: UnauthorizedError,
  UnsupportedServerError: UnsupportedServerError,
  UnreachableRemoteError: UnreachableRemoteError,
  QuotaExceededError: QuotaExceededError,
  StoreClosedError: StoreClosedError,
  WorkerTerminatedError: WorkerTerminatedError,
  AbortedError: AbortedError,
  WrongSecretError: WrongSecretError,
  ChainIntegrityError: ChainIntegrityError,
  NotEncryptedError: NotEncryptedError,
  OperationTooLargeError: OperationTooLargeError,
  OperationsStuckError: OperationsStuckError,
  DirectoryInUseError: DirectoryInUseError,
  UnsyncedChangesError: UnsyncedChangesError,
  RemoteCredentialsError: RemoteCredentialsError,
  UnsupportedBrowserError: UnsupportedBrowserError,
  CodeLoadError: CodeLoadError,
};
for (const [name, cls] of Object.entries(names)) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}

const classes: Record<ErrorCode, ErrorClass> = {
  INVALID_ARGUMENT: InvalidArgumentError,
  ALREADY_EXISTS: AlreadyExistsError,
  REVISION_MISMATCH: RevisionMismatchError,
  NOT_FOUND: NotFoundError,
  VERSION_CONFLICT: VersionConflictError,
  TRANSACTION_CONFLICT: TransactionConflictError,
  TRANSACTION_FINISHED: TransactionFinishedError,
  SNAPSHOT_MISMATCH: SnapshotMismatchError,
  CONTENT_NOT_FOUND: ContentNotFoundError,
  CONTENT_MISMATCH: ContentMismatchError,
  PRECONDITION_FAILED: PreconditionFailedError,
  WEAK_ETAG: WeakETagError,
  REMOTE_FAILED: DeterminateRemoteError,
  REMOTE_INDETERMINATE: IndeterminateRemoteError,
  UNAUTHORIZED: UnauthorizedError,
  UNSUPPORTED_SERVER: UnsupportedServerError,
  REMOTE_UNREACHABLE: UnreachableRemoteError,
  QUOTA_EXCEEDED: QuotaExceededError,
  STORE_CLOSED: StoreClosedError,
  WORKER_TERMINATED: WorkerTerminatedError,
  ABORTED: AbortedError,
  WRONG_SECRET: WrongSecretError,
  CHAIN_INTEGRITY: ChainIntegrityError,
  NOT_ENCRYPTED: NotEncryptedError,
  OPERATION_TOO_LARGE: OperationTooLargeError,
  OPERATIONS_STUCK: OperationsStuckError,
  DIRECTORY_IN_USE: DirectoryInUseError,
  UNSYNCED_CHANGES: UnsyncedChangesError,
  REMOTE_CREDENTIALS: RemoteCredentialsError,
  UNSUPPORTED_BROWSER: UnsupportedBrowserError,
  CODE_LOAD_FAILED: CodeLoadError,
};

/** True when `error` is a chainsync error, optionally with the given code. */
export function isChainsyncError(error: unknown, code?: ErrorCode): error is ChainsyncError {
  return error instanceof ChainsyncError && (code === undefined || error.code === code);
}

/** Plain, structured-clone-safe form of an error, for crossing a worker or channel boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: ErrorCode;
  readonly stack?: string;
  /** Own enumerable fields of a ChainsyncError (`argument`, `status`, `failed`, …). */
  readonly fields?: Record<string, unknown>;
}

/** Turns any thrown value into {@link SerializedError}. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof ChainsyncError) {
    // Class fields (`code`, `determinate`, `argument`, `status`, …) are own enumerable properties.
    const fields: Record<string, unknown> = { ...error };
    return { name: error.name, message: error.message, code: error.code, stack: error.stack, fields };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** Rebuilds the error {@link serializeError} described, as an instance of the same class. */
export function reviveError(data: SerializedError): Error {
  const cls = data.code ? classes[data.code] : undefined;
  const error: Error = cls ? (Object.create(cls.prototype) as Error) : new Error();
  Object.defineProperty(error, 'message', { value: data.message, writable: true, configurable: true });
  // A chainsync class names itself (its prototype's literal name, right whatever either side's
  // bundler did to the name it was sent with); a foreign error keeps the name it was sent with.
  if (!cls) Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true });
  if (data.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: data.stack, writable: true, configurable: true });
  }
  if (cls) Object.assign(error, data.fields, { code: data.code });
  return error;
}
