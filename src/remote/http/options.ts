import { InvalidArgumentError } from '../../contracts/errors.js';
import { isPositiveInteger } from '../../core/validate.js';
import { MAX_OBJECT_BYTES_HEADER } from '../../contracts/remote-backend.js';

/** Headers for every request: static, or computed per request (e.g. a fresh bearer token). */
export type HeadersSource = HeadersInit | (() => HeadersInit | Promise<HeadersInit>);

/** A `fetch`-compatible function. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Backoff of idempotent reads (GET, HEAD, list). Writes are never retried blindly. */
export interface ReadRetryOptions {
  /** Retries after the first attempt (default 3). */
  readonly retries?: number;
  /** First backoff delay in ms, doubled per retry with jitter (default 100). */
  readonly baseDelayMs?: number;
  /** Longest backoff delay in ms (default 2000). */
  readonly maxDelayMs?: number;
}

/**
 * How the server lists keys, when it can:
 * - `'json'`: `GET <base>/?list=<prefix>` answers `{ "keys": [...] }` (the reference server, the msw handlers);
 * - `'s3'`: S3 ListObjectsV2 (`GET <base>?list-type=2&prefix=…`, XML, continuation tokens), with
 *   `baseUrl` the path-style bucket URL.
 */
export type ListDialect = 'json' | 's3';

/**
 * Deviations from RFC 9110 that {@link probeServer} measured and the backend works around. Found by
 * capability, never by server name. A server needing none of them leaves all `false`.
 */
export interface ServerQuirks {
  /**
   * `If-Match` on PUT only matches the ETag sent WITHOUT its quotes (Ceph RGW 16): the backend sends
   * it unquoted. Versions handed to callers keep the quotes, exactly as the server sent them.
   */
  readonly ifMatchUnquoted: boolean;
  /**
   * The same bytes written twice get the same ETag (S3's MD5 ETags), so a version is not unique per
   * write (ABA). The backend then wraps every object in a small envelope with a random nonce, which
   * makes each write's ETag unique. See `envelope.ts`.
   */
  readonly contentDerivedETags: boolean;
  /**
   * DELETE ignores `If-Match` (Ceph RGW 16). `deleteConditional` is then emulated safely, never made
   * unconditional: it replaces the object by a tombstone through a conditional PUT, and reads treat
   * a tombstone as absent (a later create-only write replaces it by compare-and-swap).
   */
  readonly deleteIgnoresIfMatch: boolean;
  /**
   * A conditional PUT that loses a race may be answered with a 5xx instead of 412 (Ceph RGW 16).
   * The backend reports it as indeterminate unless reading back proves the outcome (envelope mode).
   */
  readonly lostRaceAs5xx: boolean;
  /** Reads right after a write return a weak (`W/`) ETag for a while (Apache mod_dav). */
  readonly weakETagAfterWrite: boolean;
  /** The PUT response carries no ETag (Apache mod_dav). */
  readonly noETagOnPut: boolean;
}

/** A standards-conforming server: no workaround needed. */
export const NO_QUIRKS: ServerQuirks = Object.freeze({
  ifMatchUnquoted: false,
  contentDerivedETags: false,
  deleteIgnoresIfMatch: false,
  lostRaceAs5xx: false,
  weakETagAfterWrite: false,
  noETagOnPut: false,
});

/**
 * What error messages call the settings behind the transport's options, in the words of the layer
 * the application configures: a replica's remote passes `remote.url`, so a message names what the
 * user wrote instead of the backend's internal `options.baseUrl`. Each is optional and defaults to
 * the option's own name (`options.baseUrl`, `options.timeoutMs`).
 */
export interface SettingNames {
  /** The setting(s) that say where the server is, e.g. `remote.url`. */
  readonly url?: string;
  /** The setting of the per-request time limit, e.g. `remote.timeoutMs`. */
  readonly timeout?: string;
  /**
   * What to do when the server refuses the request's credentials (401/403): a sentence naming the
   * setting to fix. Its caller knows whether credentials were given at all, and says so.
   */
  readonly unauthorized?: string;
}

/** How messages name the options when no {@link SettingNames} are given: their own names. */
export const DEFAULT_SETTING_NAMES: Required<SettingNames> = Object.freeze({
  url: 'options.baseUrl (for S3: the path-style bucket URL, and that the bucket exists)',
  timeout: 'options.timeoutMs',
  unauthorized: 'Check the credentials (options.headers or the signing fetch).',
});

/** Where and how to reach an object server over HTTP. */
export interface HttpTransportOptions {
  /**
   * URL under which each key is a path (`<baseUrl>/<key>`, each `/`-separated segment
   * percent-encoded). For S3 / R2 use the path-style bucket URL, e.g. `http://127.0.0.1:7480/bucket`.
   */
  readonly baseUrl: string;
  /** Extra request headers (auth), static or computed before each request. */
  readonly headers?: HeadersSource;
  /**
   * The `fetch` to use (default: the global one, looked up per request). For S3, R2 and other SigV4
   * stores pass a signer, e.g. `s3Fetch` from `./s3-fetch.ts` (`aws4fetch` with its blind 5xx retries off):
   *
   * ```ts
   * const backend = await connectRemote({
   *   baseUrl: 'http://127.0.0.1:7480/my-bucket',
   *   fetch: s3Fetch({ accessKeyId, secretAccessKey, region: 'us-east-1' }),
   *   list: 's3',
   * });
   * ```
   */
  readonly fetch?: FetchLike;
  /** Time limit of one request attempt in ms (default 30 000). */
  readonly timeoutMs?: number;
  /** Aborts every pending and future request of this backend. */
  readonly signal?: AbortSignal;
  /** Backoff of idempotent reads. */
  readonly readRetry?: ReadRetryOptions;
  /** What error messages call these options' settings (default: the options' own names). */
  readonly settings?: SettingNames;
}

/** Options of {@link HttpRemoteBackend}. */
export interface HttpBackendOptions extends HttpTransportOptions {
  /** How the server lists keys; without it the backend has no `list` (sync never needs it). */
  readonly list?: ListDialect;
  /** Workarounds for measured server deviations (normally filled in by `connectRemote`'s probe). */
  readonly quirks?: Partial<ServerQuirks>;
  /**
   * The largest object the server accepts, in bytes (a positive whole number), answered by
   * `maxObjectBytes()`. Overrides what the server states in its `Chainsync-Max-Object-Bytes` header
   * (which `connectRemote`'s probe reads). For S3 pass {@link S3_MAX_OBJECT_BYTES}.
   */
  readonly maxObjectBytes?: number;
  /**
   * Called when the server answers in a way that contradicts what the capability probe measured
   * (see {@link ServerSurprise}); `connectRemote` uses it to forget a remembered probe result, so the
   * next connection probes again. The request itself fails or succeeds as it would without it.
   */
  readonly onSurprise?: (surprise: ServerSurprise) => void;
  /**
   * What the probe read in the server's `Chainsync-Max-Object-Bytes` header (`null`: it stated
   * none). A reply stating another limit is a {@link ServerSurprise} (one stating none is not).
   * Leave it out to check nothing.
   */
  readonly probedMaxObjectBytes?: number | null;
  /**
   * The server has the change signal (`ProbeReport.changeSignal`): `readIfChanged` then asks it to
   * hold the request (`Prefer: wait`). Without it the header is never sent (an S3 bucket's CORS
   * rules may not allow it), and `readIfChanged` is a plain conditional GET. Default false.
   */
  readonly changeSignal?: boolean;
}

/**
 * An answer that contradicts a passed capability probe, so a remembered probe result is stale:
 * - `etag-on-put`: a successful PUT answered without an ETag, or with a weak one;
 * - `strong-etags`: a read of a present object answered without an ETag, or with a weak one;
 * - `preconditions`: a write answered 428 Precondition Required (the server now wants conditions
 *   the probe did not see it want);
 * - `max-object-bytes`: a write answered 413 Content Too Large, or a reply stating another
 *   `Chainsync-Max-Object-Bytes` than the probe read.
 * Not a surprise: 412 / 404 to a conditional write (a lost race, as the probe expects), 401 / 403
 * (credentials), 5xx / 408 / 429 ("not now"), a network failure.
 */
export interface ServerSurprise {
  readonly kind: 'etag-on-put' | 'strong-etags' | 'preconditions' | 'max-object-bytes';
  /** What was seen, for logs and messages. */
  readonly detail: string;
}

/**
 * `options.maxObjectBytes`, checked: `undefined` (not configured) or a positive whole number.
 * @throws InvalidArgumentError for anything else.
 */
export function maxObjectBytesOption(value: unknown): number | undefined {
  if (value === undefined || isPositiveInteger(value)) {
    return value;
  }
  throw new InvalidArgumentError(
    'options.maxObjectBytes',
    `expected a positive whole number of bytes (the largest object the server accepts), got ${String(value)}. ` +
      'Leave it out to use what the server states.',
  );
}

/** The largest object one S3 PUT may carry: 5 GiB. S3 states no limit in a header; it is known. */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 ** 3;

/**
 * The largest object a server states it accepts, from its {@link MAX_OBJECT_BYTES_HEADER}: a
 * positive whole number of bytes written in decimal digits. Anything else states nothing usable
 * (`null`): sizing writes by a garbled limit would be worse than not knowing it.
 */
export function statedMaxObjectBytes(headers: Headers): number | null {
  const stated = headers.get(MAX_OBJECT_BYTES_HEADER)?.trim() ?? '';
  if (!/^\d+$/.test(stated)) return null;
  const bytes = Number(stated);
  return isPositiveInteger(bytes) ? bytes : null;
}
