import type { Unsubscribe } from './common.js';

/**
 * Opaque version of one CasKv write. Unique per write and never reused, so a token taken before
 * writes A, B, A stays stale (no ABA). Compare tokens only for equality.
 */
export type VersionToken = string;

/** A value with the version that wrote it. An empty `value` is a tombstone (only from `entry`). */
export interface KvEntry {
  readonly value: Uint8Array;
  readonly version: VersionToken;
}

/** A live key with its entry, as listed by `scan`. */
export interface KvItem extends KvEntry {
  readonly key: string;
}

/** A change delivered by `watch`. */
export type KvChange =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly version: VersionToken }
  /**
   * `version` is the tombstone's version after a write of an empty value (`deleteWithVersion`
   * included), `null` after `delete`.
   */
  | { readonly type: 'delete'; readonly key: string; readonly version: VersionToken | null };

/** Receives watch events, in commit order. */
export type KvWatcher = (change: KvChange) => void;

/** Reads of a {@link CasKv}. Tombstones read as absent everywhere except {@link CasKvReader.entry}. */
export interface CasKvReader {
  /** The live value under `key`, or `null` when the key is absent or a tombstone. */
  get(key: string): Promise<KvEntry | null>;
  /** The raw record, tombstones included (empty value), so a caller can CAS from it. `null` if absent. */
  entry(key: string): Promise<KvEntry | null>;
  /** Live keys starting with `prefix` (all when omitted), ascending. */
  keys(prefix?: string): Promise<string[]>;
  /** Live entries whose key starts with `prefix` (all when omitted), ascending by key. */
  scan(prefix?: string): Promise<KvItem[]>;
  /**
   * First delivers a `put` for every live key under `prefix` (ascending), then every later change,
   * from this tab, other tabs and sync. Resolves once the current values have been delivered.
   */
  watch(prefix: string, watcher: KvWatcher): Promise<Unsubscribe>;
}

/**
 * Writes of a {@link CasKv} (seed 001, `KvWriter`). Every write takes any value, empty included:
 * an empty value is the seed's logical delete, a tombstone. The key then reads as absent (`get`,
 * `keys`, `scan`), `entry` shows the empty value with its version (so a CAS writer can start from
 * it), `create` succeeds over it, and `watch` delivers it as a `delete` carrying that version.
 * `put(key, empty)` and {@link KvWriter.deleteWithVersion} write the very same tombstone;
 * {@link KvWriter.delete} instead erases the key (`entry` then reads `null` too).
 */
export interface KvWriter {
  /** Writes unconditionally (an empty value: the logical delete). Returns the new version. */
  put(key: string, value: Uint8Array): Promise<VersionToken>;
  /**
   * Writes only if no live value exists (absent or tombstone both qualify).
   * @throws AlreadyExistsError when a live value exists.
   */
  create(key: string, value: Uint8Array): Promise<VersionToken>;
  /**
   * Compare-and-swap: writes only if the current version (tombstones included) is `expected`.
   * @throws RevisionMismatchError otherwise, including when the key is absent.
   */
  update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken>;
  /**
   * Removes the key entirely, tombstone included: `entry` reads `null` after it. Returns whether a
   * live value was removed.
   */
  delete(key: string): Promise<boolean>;
  /**
   * CAS-gated delete: writes a tombstone (so concurrent CAS writers conflict) if the current
   * version is `expected` — what `update(key, empty, expected)` writes, but returning whether a
   * live value was removed instead of the new version (read it with `entry`).
   * @throws RevisionMismatchError on another version or a key that never existed.
   */
  deleteWithVersion(key: string, expected: VersionToken): Promise<boolean>;
}

/** Compare-and-swap key/value store: the reader plus the seed's writer. */
export interface CasKv extends CasKvReader, KvWriter {}

/** One write of a {@link BatchCasKv.batch}. */
export type KvOp =
  | { readonly op: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'create'; readonly key: string; readonly value: Uint8Array }
  | {
      readonly op: 'update';
      readonly key: string;
      readonly value: Uint8Array;
      readonly expected: VersionToken;
    }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'deleteWithVersion'; readonly key: string; readonly expected: VersionToken };

/** What each {@link KvOp} returns: a new version for writes, "was a value live" for deletes. */
export type KvOpResult = VersionToken | boolean;

/** A CasKv that can commit many writes in one transaction. */
export interface BatchCasKv extends CasKv {
  /**
   * Applies `ops` in order, atomically: all of them commit in one IndexedDB transaction, or (if
   * any fails, e.g. a RevisionMismatchError) none does. Returns each op's result.
   */
  batch(ops: readonly KvOp[]): Promise<KvOpResult[]>;
}
