import type {
  AtomicRemoteBackend,
  ChangeCheck,
  ConditionalDelete,
  ConditionalPut,
  ListedObject,
  ObjectVersion,
  ReadIfChangedOptions,
  VersionedObject,
} from '../../contracts/remote-backend.js';
import {
  DeterminateRemoteError,
  IndeterminateRemoteError,
  InvalidArgumentError,
  PreconditionFailedError,
  UnauthorizedError,
  UnsupportedServerError,
  WeakETagError,
  type RemoteError,
} from '../../contracts/errors.js';
import { bytesEqual, fromUtf8 } from '../../core/bytes.js';
import {
  appliedWait,
  isPreconditionRefusal,
  isSuccessStatus,
  isWeakETag,
  MAX_WAIT_SECONDS,
  PREFERENCE_APPLIED,
  unquotedETag,
} from '../../core/http-semantics.js';
import { assertConditionalDelete, assertConditionalPut } from '../../core/remote-rules.js';
import { sleep } from '../../core/sleep.js';
import { assertBytes, assertKey, assertPrefix } from '../../core/validate.js';
import {
  ENVELOPE_OVERHEAD_BYTES,
  FROM_ABSENT,
  UNCONDITIONAL,
  mayBeTombstone,
  newNonce,
  unwrap,
  wrap,
} from './envelope.js';
import { listObjects } from './list.js';
import {
  NO_QUIRKS,
  maxObjectBytesOption,
  type HttpBackendOptions,
  type ServerQuirks,
  type ServerSurprise,
} from './options.js';
import { statedMaxObjectBytes } from './options.js';
import { HttpTransport, type HttpReply } from './transport.js';

/** An object as read: its bytes (envelope removed) or a tombstone, with the raw ETag header. */
interface ReadObject {
  readonly data: Uint8Array | null;
  readonly nonce: Uint8Array | undefined;
  readonly parent: string | undefined;
  readonly etag: string | null;
  /** The raw `Last-Modified` header, or null when the server sent none. */
  readonly modified: string | null;
}

/** Readbacks after an indeterminate conditional write, waiting for a racing write to land. */
const RESOLVE_ATTEMPTS = 4;

/**
 * {@link AtomicRemoteBackend} over HTTP (RFC 9110 conditional requests) on `fetch`:
 * `If-None-Match: *` for create-only, `If-Match` for replace and delete, the new version taken from
 * the PUT response's ETag (never from a follow-up read, which would race). Only strong ETags are
 * versions. Failures are {@link RemoteError}s: determinate (4xx, never sent) or indeterminate
 * (timeout, reset, 5xx after the body was sent). Reads are retried with backoff; writes never are.
 *
 * Prefer {@link connectRemote}, which probes the server first and fills in {@link ServerQuirks}.
 * Constructed directly, the backend assumes a conforming server unless `options.quirks` says
 * otherwise. Keys map to `<baseUrl>/<key>`; keys with `.` or `..` segments are refused.
 */
export class HttpRemoteBackend implements AtomicRemoteBackend {
  /** Keys starting with a prefix, ascending; present only when `options.list` names a dialect. */
  readonly list?: (prefix: string) => Promise<string[]>;
  /** The same with each object's size (see `RemoteBackend.listObjects`); present with `list`. */
  readonly listObjects?: (prefix: string) => Promise<ListedObject[]>;
  /** The workarounds in effect. */
  readonly quirks: ServerQuirks;
  readonly #transport: HttpTransport;
  /** Objects are wrapped in the envelope (see envelope.ts) when the server needs it. */
  readonly #enveloped: boolean;
  readonly #maxObjectBytes: number | null;
  readonly #onSurprise: ((surprise: ServerSurprise) => void) | undefined;
  readonly #probedMaxObjectBytes: number | null | undefined;
  readonly #changeSignal: boolean;

  constructor(options: HttpBackendOptions) {
    this.#changeSignal = options.changeSignal === true;
    this.#maxObjectBytes = maxObjectBytesOption(options.maxObjectBytes) ?? null;
    this.#onSurprise = options.onSurprise;
    this.#probedMaxObjectBytes = options.probedMaxObjectBytes;
    this.#transport = new HttpTransport(options);
    this.quirks = Object.freeze({ ...NO_QUIRKS, ...options.quirks });
    this.#enveloped = this.quirks.contentDerivedETags || this.quirks.deleteIgnoresIfMatch;
    const dialect = options.list;
    if (dialect !== undefined) {
      if (dialect !== 'json' && dialect !== 's3') {
        throw new InvalidArgumentError('options.list', `expected 'json' or 's3', got ${String(dialect)}.`);
      }
      this.listObjects = (prefix) => this.#list(dialect, prefix);
      this.list = async (prefix) => (await this.#list(dialect, prefix)).map((o) => o.key);
    }
  }

  /**
   * The largest object a caller may upload, in bytes: `options.maxObjectBytes` (which
   * `connectRemote` fills in from what the server states, unless configured), less what the
   * envelope adds when this backend wraps objects; `null` when unknown.
   */
  maxObjectBytes(): Promise<number | null> {
    const stated = this.#maxObjectBytes;
    if (stated === null || !this.#enveloped) return Promise.resolve(stated);
    return Promise.resolve(Math.max(1, stated - ENVELOPE_OVERHEAD_BYTES));
  }

  /** The base URL, normalized (no trailing slash). */
  get baseUrl(): string {
    return this.#transport.baseUrl;
  }

  async download(key: string): Promise<Uint8Array | null> {
    assertKey(key);
    return (await this.#get(key))?.data ?? null;
  }

  async downloadVersioned(key: string): Promise<VersionedObject | null> {
    assertKey(key);
    const object = await this.#get(key);
    if (object?.data == null) return null;
    return { data: object.data, version: this.#requireVersion(object.etag, `GET ${key}`) };
  }

  async exists(key: string): Promise<boolean> {
    assertKey(key);
    return (await this.#head(key)) !== null;
  }

  async objectVersion(key: string): Promise<ObjectVersion | null> {
    assertKey(key);
    const head = await this.#head(key);
    return head === null ? null : this.#requireVersion(head.etag, `HEAD ${key}`);
  }

  /**
   * When `key` was last written (its `Last-Modified`, whole seconds by the server's clock), or
   * `null` when absent (a tombstone included).
   * @throws UnsupportedServerError when the server sends no valid `Last-Modified`.
   */
  async lastModified(key: string): Promise<number | null> {
    assertKey(key);
    const head = await this.#head(key);
    if (head === null) return null;
    const time = head.modified === null ? NaN : Date.parse(head.modified);
    if (Number.isNaN(time)) {
      throw new UnsupportedServerError(
        `HEAD ${key}: the server sent no valid Last-Modified (${head.modified ?? 'none'}), so the age of objects cannot be told; remote blob garbage collection needs it.`,
        ['last-modified'],
      );
    }
    return time;
  }

  /**
   * Whether `key` is at another version than `since`, by a conditional GET (`If-None-Match`; 304
   * when unchanged). On a server with the change signal (`options.changeSignal`) the request asks
   * to be held until the object changes (`Prefer: wait=<waitSeconds>`), and may take that much
   * longer than `options.timeoutMs`. A tombstone (emulated delete) reads as absent.
   */
  async readIfChanged(
    key: string,
    since: ObjectVersion | null,
    options: ReadIfChangedOptions = {},
  ): Promise<ChangeCheck> {
    assertKey(key);
    const { waitSeconds = 0, signal } = options;
    if (!Number.isSafeInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_WAIT_SECONDS) {
      throw new InvalidArgumentError(
        'options.waitSeconds',
        `expected a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}, got ${String(waitSeconds)}.`,
      );
    }
    if (since !== null && (typeof since !== 'string' || isWeakETag(since))) {
      throw new InvalidArgumentError(
        'since',
        'expected a strong version (an ETag read from this backend) or null.',
      );
    }
    const wait = this.#changeSignal && waitSeconds > 0 ? waitSeconds : 0;
    const headers: Record<string, string> = since === null ? {} : { 'If-None-Match': since };
    if (wait > 0) headers.Prefer = `wait=${wait}`;
    const what = `GET ${key} (If-None-Match ${since ?? 'none'}${wait > 0 ? `, Prefer: wait=${wait}` : ''})`;
    const reply = await this.#transport.read({
      method: 'GET',
      url: this.#transport.urlOf(key),
      headers,
      what,
      extraTimeMs: wait * 1000,
      signal,
      // Past the browser's HTTP cache: Chromium lets one request per URL at a time use it (the
      // "cache lock"), so a held GET of the pointer would stall the sync's own read of it.
      cache: 'no-store',
    });
    const held = wait > 0 && appliedWait(reply.headers.get(PREFERENCE_APPLIED));
    if (reply.status === 304) return { version: since, changed: false, held };
    let version: ObjectVersion | null = null;
    if (reply.status !== 404 && reply.status !== 410) {
      if (!isSuccessStatus(reply.status)) throw statusError(this.#transport, reply, what, 'read');
      const tombstone = this.#enveloped && unwrap(reply.body).kind === 'tombstone';
      version = tombstone ? null : this.#requireVersion(reply.headers.get('etag'), what);
    }
    return { version, changed: version !== since, held };
  }

  async upload(key: string, data: Uint8Array): Promise<void> {
    assertKey(key);
    assertBytes(data, 'data');
    const what = `PUT ${key}`;
    const body = this.#enveloped ? wrap(data, newNonce(), UNCONDITIONAL) : data;
    const reply = await this.#transport.write({ method: 'PUT', url: this.#transport.urlOf(key), body, what });
    this.#checkWrite(reply, what);
    if (!isSuccessStatus(reply.status)) throw statusError(this.#transport, reply, what, 'write');
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    const what = `DELETE ${key}`;
    const reply = await this.#transport.write({ method: 'DELETE', url: this.#transport.urlOf(key), what });
    if (!isSuccessStatus(reply.status) && reply.status !== 404)
      throw statusError(this.#transport, reply, what, 'write');
  }

  async uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut): Promise<ObjectVersion> {
    assertKey(key);
    assertBytes(data, 'data');
    assertConditionalPut(condition);
    const url = this.#transport.urlOf(key);
    if (!this.#enveloped) return this.#conditionalPut(key, url, data, condition, undefined);
    // A tombstone (emulated delete) counts as absent: create-only replaces it by compare-and-swap.
    let current: ConditionalPut = condition;
    for (let attempt = 0; ; attempt++) {
      const nonce = newNonce();
      const parent = 'ifAbsent' in current ? FROM_ABSENT : current.ifVersion;
      try {
        return await this.#conditionalPut(key, url, wrap(data, nonce, parent), current, nonce);
      } catch (error) {
        if (!('ifAbsent' in condition) || !(error instanceof PreconditionFailedError) || attempt >= 8)
          throw error;
        const object = await this.#get(key);
        if (object === null) current = condition;
        else if (object.data === null && object.etag !== null && !isWeakETag(object.etag)) {
          current = { ifVersion: object.etag };
        } else throw error;
      }
    }
  }

  async deleteConditional(key: string, condition: ConditionalDelete): Promise<void> {
    assertKey(key);
    assertConditionalDelete(condition);
    const url = this.#transport.urlOf(key);
    if (this.quirks.deleteIgnoresIfMatch) {
      // The server would delete whatever version is there: write a tombstone by compare-and-swap instead.
      const nonce = newNonce();
      await this.#conditionalPut(key, url, wrap(null, nonce, condition.ifVersion), condition, nonce);
      return;
    }
    const what = `DELETE ${key} (If-Match ${condition.ifVersion})`;
    const reply = await this.#transport.write({
      method: 'DELETE',
      url,
      headers: { 'If-Match': this.#ifMatch(condition.ifVersion) },
      what,
    });
    if (isSuccessStatus(reply.status)) return;
    if (isPreconditionFailure(reply, true)) {
      throw new PreconditionFailedError(
        `${key}: not at version ${condition.ifVersion} (or absent); nothing was deleted.`,
        {
          status: reply.status,
        },
      );
    }
    throw statusError(this.#transport, reply, what, 'write');
  }

  /** PUT with `If-None-Match: *` / `If-Match`; `nonce` is set in envelope mode (outcome provable by readback). */
  async #conditionalPut(
    key: string,
    url: string,
    body: Uint8Array,
    condition: ConditionalPut,
    nonce: Uint8Array | undefined,
  ): Promise<ObjectVersion> {
    const ifAbsent = 'ifAbsent' in condition;
    const what = `PUT ${key} (${ifAbsent ? 'If-None-Match: *' : `If-Match ${condition.ifVersion}`})`;
    const headers: Record<string, string> = ifAbsent
      ? { 'If-None-Match': '*' }
      : { 'If-Match': this.#ifMatch(condition.ifVersion) };
    let reply: HttpReply;
    try {
      reply = await this.#transport.write({ method: 'PUT', url, headers, body, what });
    } catch (error) {
      if (nonce && error instanceof IndeterminateRemoteError)
        return this.#resolve(key, condition, nonce, error);
      throw error;
    }
    this.#checkWrite(reply, what);
    if (isSuccessStatus(reply.status)) return this.#versionFromPut(reply, what);
    if (isPreconditionFailure(reply, !ifAbsent)) {
      throw new PreconditionFailedError(
        `${key}: ${ifAbsent ? 'already exists' : `is not at version ${condition.ifVersion} (or absent)`}; nothing was written.`,
        { status: reply.status },
      );
    }
    const error = statusError(this.#transport, reply, what, 'write');
    if (nonce && error instanceof IndeterminateRemoteError)
      return this.#resolve(key, condition, nonce, error);
    throw error;
  }

  /**
   * Settles an indeterminate conditional write by reading back (envelope mode): our nonce there
   * means applied; another write from the same parent version means ours lost and can never apply
   * (the parent's ETag cannot recur). Anything else stays indeterminate.
   */
  async #resolve(
    key: string,
    condition: ConditionalPut,
    nonce: Uint8Array,
    original: IndeterminateRemoteError,
  ): Promise<ObjectVersion> {
    for (let attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
      let object: ReadObject | null;
      try {
        object = await this.#get(key);
      } catch {
        throw original;
      }
      if (object?.nonce && bytesEqual(object.nonce, nonce) && object.etag && !isWeakETag(object.etag)) {
        return object.etag;
      }
      if (!('ifVersion' in condition) || object === null) throw original;
      if (object.nonce && object.parent === condition.ifVersion) {
        throw new PreconditionFailedError(
          `${key}: another write from version ${condition.ifVersion} won the race (read back after the server ` +
            `answered: ${original.message}); nothing of this write was applied.`,
          { status: original.status, cause: original },
        );
      }
      if (object.etag !== condition.ifVersion) throw original;
      // Still at the parent: our request may not have landed yet. Look again shortly.
      await sleep(50 * 2 ** attempt);
    }
    throw original;
  }

  #versionFromPut(reply: HttpReply, what: string): ObjectVersion {
    const etag = reply.headers.get('etag');
    if (etag === null || isWeakETag(etag)) {
      const why =
        etag === null
          ? 'the server sent no ETag in the PUT response'
          : `the server sent the weak ETag ${etag} in the PUT response`;
      this.#surprise('etag-on-put', `${what}: ${why}`);
      // The write WAS applied; only its version is unknown. Indeterminate tells the caller to read back.
      throw new IndeterminateRemoteError(
        `${what} was applied, but ${why}, so its new version is unknown (a follow-up read would race). ` +
          'This server cannot serve compare-and-swap: use connectRemote(), which probes and refuses it.',
        { status: reply.status, cause: etag === null ? undefined : new WeakETagError(`weak ETag ${etag}`) },
      );
    }
    return etag;
  }

  #ifMatch(version: ObjectVersion): string {
    return this.quirks.ifMatchUnquoted ? unquotedETag(version) : version;
  }

  #requireVersion(etag: string | null, what: string): ObjectVersion {
    if (etag === null || isWeakETag(etag)) {
      this.#surprise('strong-etags', `${what}: ${etag === null ? 'no ETag' : `the weak ETag ${etag}`}`);
    }
    if (etag === null) {
      throw new UnsupportedServerError(
        `${what}: the server sent no ETag, so the object has no version and compare-and-swap is impossible. ` +
          'Use a server that sends strong ETags (check it with probeServer()).',
        ['etag-on-read'],
      );
    }
    if (isWeakETag(etag)) {
      throw new WeakETagError(
        `${what}: the server sent the weak ETag ${etag}. If-Match uses strong comparison (RFC 9110 §13.1.1), so ` +
          'a weak ETag can never match: compare-and-swap is impossible with it. Use a server that returns strong ETags.',
      );
    }
    return etag;
  }

  /** Tells `onSurprise` what in a write's reply contradicts the probe ({@link ServerSurprise}). */
  #checkWrite(reply: HttpReply, what: string): void {
    if (reply.status === 428) this.#surprise('preconditions', `${what}: 428 Precondition Required`);
    if (reply.status === 413) this.#surprise('max-object-bytes', `${what}: 413 Content Too Large`);
    if (this.#probedMaxObjectBytes === undefined) return;
    // A reply stating nothing says nothing new (not every answer carries the header).
    const stated = statedMaxObjectBytes(reply.headers);
    if (stated !== null && stated !== this.#probedMaxObjectBytes) {
      this.#surprise(
        'max-object-bytes',
        `${what}: the server states a largest object of ${stated} bytes, the probe read ${this.#probedMaxObjectBytes ?? 'no limit'}`,
      );
    }
  }

  #surprise(kind: ServerSurprise['kind'], detail: string): void {
    try {
      this.#onSurprise?.({ kind, detail });
    } catch {
      // A listener's failure must not change the request's outcome.
    }
  }

  async #get(key: string): Promise<ReadObject | null> {
    const what = `GET ${key}`;
    const reply = await this.#transport.read({ method: 'GET', url: this.#transport.urlOf(key), what });
    if (reply.status === 404 || reply.status === 410) return null;
    if (!isSuccessStatus(reply.status)) throw statusError(this.#transport, reply, what, 'read');
    const etag = reply.headers.get('etag');
    const modified = reply.headers.get('last-modified');
    if (!this.#enveloped) return { data: reply.body, nonce: undefined, parent: undefined, etag, modified };
    const unwrapped = unwrap(reply.body);
    if (unwrapped.kind === 'raw')
      return { data: unwrapped.data, nonce: undefined, parent: undefined, etag, modified };
    return {
      data: unwrapped.kind === 'data' ? unwrapped.data : null,
      nonce: unwrapped.nonce,
      parent: unwrapped.parent,
      etag,
      modified,
    };
  }

  /** A present object's ETag and Last-Modified headers (null when the server sends none), or null if absent. */
  async #head(key: string): Promise<{ etag: string | null; modified: string | null } | null> {
    const what = `HEAD ${key}`;
    const reply = await this.#transport.read({ method: 'HEAD', url: this.#transport.urlOf(key), what });
    if (reply.status === 404 || reply.status === 410) return null;
    if (!isSuccessStatus(reply.status)) throw statusError(this.#transport, reply, what, 'read');
    const length = Number(reply.headers.get('content-length') ?? NaN);
    if (this.#enveloped && (Number.isNaN(length) || mayBeTombstone(length))) {
      const object = await this.#get(key);
      return object?.data == null ? null : { etag: object.etag, modified: object.modified };
    }
    return { etag: reply.headers.get('etag'), modified: reply.headers.get('last-modified') };
  }

  async #list(dialect: 'json' | 's3', prefix: string): Promise<ListedObject[]> {
    assertPrefix(prefix);
    const objects = await listObjects(this.#transport, dialect, prefix);
    if (!this.#enveloped) return objects;
    // An enveloped server lists tombstones too, and its sizes are the envelopes': live objects only,
    // their own sizes unknown.
    const live = await Promise.all(
      objects.map(async ({ key }): Promise<ListedObject | null> =>
        (await this.#head(key)) !== null ? { key, bytes: null } : null,
      ),
    );
    return live.filter((o): o is ListedObject => o !== null);
  }
}

/** A refused precondition (412, S3's 409) or, for If-Match, 404: the condition did not hold. */
function isPreconditionFailure(reply: HttpReply, ifMatch: boolean): boolean {
  return isPreconditionRefusal(reply) || (ifMatch && reply.status === 404);
}

/** The error for a non-2xx status. Writes answered with 5xx may have been applied. */
function statusError(
  transport: HttpTransport,
  reply: HttpReply,
  what: string,
  kind: 'read' | 'write',
): RemoteError {
  const status = reply.status;
  const detail = fromUtf8(reply.body.subarray(0, 200)).trim();
  const answered = `${what}: the server answered ${status}${detail ? ` (${detail})` : ''}`;
  if (status === 401 || status === 403) {
    return new UnauthorizedError(`${answered}. ${transport.settings.unauthorized}`, { status });
  }
  if (status >= 500 && kind === 'write') {
    return new IndeterminateRemoteError(
      `${answered} after receiving the request: it may or may not have been applied. Read the object back to find out.`,
      { status },
    );
  }
  return new DeterminateRemoteError(`${answered}; nothing was changed.`, { status });
}
