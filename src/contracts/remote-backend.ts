/**
 * Opaque version of a remote object: its strong ETag exactly as the server sent it (quotes
 * included). Weak (`W/`) ETags are never versions: RFC 9110 forbids them in `If-Match`.
 */
export type ObjectVersion = string;

/** An object's bytes with the version they were read at. */
export interface VersionedObject {
  readonly data: Uint8Array;
  readonly version: ObjectVersion;
}

/** Condition of {@link AtomicRemoteBackend.uploadConditional}. */
export type ConditionalPut =
  /** Create only: `If-None-Match: *`. */
  | { readonly ifAbsent: true }
  /** Replace only this version: `If-Match: <etag>`. */
  | { readonly ifVersion: ObjectVersion };

/** Condition of {@link AtomicRemoteBackend.deleteConditional}. */
export interface ConditionalDelete {
  readonly ifVersion: ObjectVersion;
}

/**
 * Object transport (seed 000's `RemoteBackend`). Keys are non-empty strings; `/` is allowed.
 * Failures are {@link RemoteError}s telling whether a write may have happened.
 */
export interface RemoteBackend {
  /** The object's bytes, or `null` if absent. Retried with backoff on transient failures. */
  download(key: string): Promise<Uint8Array | null>;
  /** Writes unconditionally. */
  upload(key: string, data: Uint8Array): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes; succeeds when already absent. */
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`, ascending. Optional: not every server can list. */
  list?(prefix: string): Promise<string[]>;
  /**
   * The objects whose keys start with `prefix`, ascending, with their sizes as the listing states
   * them (S3's `Size`; the reference server's `bytes`). Optional, like {@link RemoteBackend.list}.
   */
  listObjects?(prefix: string): Promise<ListedObject[]>;
}

/** One object of a listing ({@link RemoteBackend.listObjects}). */
export interface ListedObject {
  readonly key: string;
  /**
   * Its size in bytes, or `null` where the listing does not state it: an older server, or one whose
   * objects the backend wraps in envelopes (the listed size is the envelope's, not the object's).
   */
  readonly bytes: number | null;
}

/**
 * The name of the response header with which a server states the largest request body (object)
 * it accepts, in bytes. The chainsync reference server sends it on every response; the capability
 * probe reads it. Servers without it state nothing (S3's own limit, 5 GiB per PUT, is known).
 */
export const MAX_OBJECT_BYTES_HEADER = 'Chainsync-Max-Object-Bytes';

/** Options of {@link AtomicRemoteBackend.readIfChanged}. */
export interface ReadIfChangedOptions {
  /**
   * Seconds a server with the change signal may hold the request until the object changes
   * (`Prefer: wait`, docs/live-sync.md); 0 (the default) answers at once. A server without the
   * signal always answers at once.
   */
  readonly waitSeconds?: number;
  /** Aborts the request (a held one included). */
  readonly signal?: AbortSignal;
}

/** What {@link AtomicRemoteBackend.readIfChanged} found. */
export interface ChangeCheck {
  /** The object's version now; `null` when it is absent. */
  readonly version: ObjectVersion | null;
  /** True when `version` is not the one asked about. */
  readonly changed: boolean;
  /**
   * True when the server applied the wait (held the request, or would have): asking again at once
   * costs one held request, not a busy loop. False: a plain conditional GET; ask again later.
   */
  readonly held: boolean;
}

/**
 * A backend that enforces compare-and-swap atomically (seed 000): it never silently overwrites a
 * versioned object. Only servers that pass the capability probe may implement it.
 */
export interface AtomicRemoteBackend extends RemoteBackend {
  /**
   * Optional: the largest object a caller may upload, in bytes (what the server accepts, less any
   * framing the backend adds), or `null` when the server states none (as learned by the capability
   * probe, or configured).
   */
  maxObjectBytes?(): Promise<number | null>;
  /** The current version, or `null` if absent. @throws WeakETagError if the server gives only a weak ETag. */
  objectVersion(key: string): Promise<ObjectVersion | null>;
  /** Bytes and version in one round trip, or `null` if absent. */
  downloadVersioned(key: string): Promise<VersionedObject | null>;
  /**
   * Writes only if `condition` holds, atomically. Returns the new version (from the write's own
   * response: a follow-up read would race).
   * @throws PreconditionFailedError if it does not hold; WeakETagError for a weak `ifVersion`.
   */
  uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut): Promise<ObjectVersion>;
  /** Deletes only if `condition` holds. @throws PreconditionFailedError otherwise (absent included). */
  deleteConditional(key: string, condition: ConditionalDelete): Promise<void>;
  /**
   * Optional: when `key` was last written, in milliseconds since the Unix epoch by the server's
   * clock (HTTP's `Last-Modified`, whole seconds), or `null` when it is absent. Remote blob GC
   * (docs/compaction.md) needs it: a blob is deleted only once it is older than a grace period,
   * and an upload refreshes a blob it relies on that is getting old.
   * @throws UnsupportedServerError when the server states no modification time.
   */
  lastModified?(key: string): Promise<number | null>;
  /**
   * Optional: whether `key` is at another version than `since` (`null`: absent), by a conditional
   * GET (`If-None-Match`, 304 when unchanged), held open by a server with the change signal for
   * up to `options.waitSeconds` until it changes. How live sync watches the chain's head.
   */
  readIfChanged?(
    key: string,
    since: ObjectVersion | null,
    options?: ReadIfChangedOptions,
  ): Promise<ChangeCheck>;
}
