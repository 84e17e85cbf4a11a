import type { AtomicRemoteBackend, ObjectVersion } from '../contracts/remote-backend.js';
import type { HeadCheck } from '../core/remote-watcher.js';
import type { CasKv } from '../contracts/cas-kv.js';
import type { Storage } from '../contracts/storage.js';
import { DeterminateRemoteError, InvalidArgumentError } from '../contracts/errors.js';
import { assertKey, assertUuid, isPositiveInteger } from '../core/validate.js';
import { connectRemote, type ConnectRemoteOptions } from './http/connect.js';
import type { HttpRemoteBackend } from './http/http-backend.js';
import type { BearerTokenProvider } from './http/bearer-fetch.js';
import { bearerFetchPart } from './http/bearer-fetch-part.js';
import type { S3CredentialsProvider } from './http/s3-fetch.js';
import { s3FetchPart } from './http/s3-fetch-part.js';
import { S3_MAX_OBJECT_BYTES, type SettingNames } from './http/options.js';
import type { ProbeCacheStore } from '../contracts/probe-cache.js';
import { dataSetUse, type DataSetUse } from './data-set-use.js';
import { RemoteBlobs } from './remote-blobs.js';
import { RemoteCasKv } from './remote-cas-kv.js';
import { RemoteStorage } from './remote-storage.js';

/**
 * Where a worker-hosted replica syncs to. `url` is the object server's base URL (the chainsync
 * reference server or any server that passes the probe); `token` is sent as
 * `Authorization: Bearer <token>`; `prefix` names this data set's objects on the server.
 */
export interface HttpRemoteConfig {
  readonly kind: 'http';
  readonly url: string;
  /**
   * The bearer token: a string, or a function returning a fresh one (the token, or
   * `{ token, expiration }`), called before the first request, shortly before `expiration` and on a
   * 401, after which the refused request is sent once more. Concurrent requests share one call; if
   * it throws, syncing fails with `REMOTE_CREDENTIALS` and nothing is written. A function stays on
   * the main thread with `openReplica`: the worker calls it there.
   */
  readonly token?: string | BearerTokenProvider;
  readonly prefix: string;
  /** Time limit of one request attempt in ms (default 30 000). */
  readonly timeoutMs?: number;
}

/**
 * An S3-compatible bucket (AWS S3, Cloudflare R2, Ceph RGW, MinIO, …) reached with SigV4-signed
 * requests. Objects live at `<endpoint>/<bucket>/<prefix>/…` (path-style URLs, which every
 * S3-compatible store accepts and Ceph RGW requires).
 *
 * The credentials are used inside the browser, so whoever runs the page can read them: give each
 * user keys that reach only their own prefix, ideally temporary ones from a `credentials` function
 * ({@link S3ExpiringCredentialsConfig}), else fixed ones ({@link S3FixedKeysConfig}).
 */
export type S3RemoteConfig = S3FixedKeysConfig | S3ExpiringCredentialsConfig;

/** What every {@link S3RemoteConfig} has, whatever its credentials. */
export interface S3RemoteConfigBase {
  readonly kind: 's3';
  /**
   * The store's base URL, without the bucket: `https://<account>.r2.cloudflarestorage.com`,
   * `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:7480`. With `bucket` left out it must
   * already name the bucket (a virtual-hosted URL such as `https://<bucket>.s3.<region>.amazonaws.com`).
   */
  readonly endpoint: string;
  /** The signing region: e.g. `eu-west-1`; `auto` for R2; `us-east-1` for Ceph RGW and MinIO defaults. */
  readonly region: string;
  /** The bucket, appended to `endpoint` as a path segment. It must exist already. */
  readonly bucket?: string;
  /** Names this data set's objects in the bucket. */
  readonly prefix: string;
  /** Time limit of one request attempt in ms (default 30 000). */
  readonly timeoutMs?: number;
}

/** An S3 remote with fixed keys. */
export interface S3FixedKeysConfig extends S3RemoteConfigBase {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The session token of temporary credentials given once (STS, R2 temporary access). */
  readonly sessionToken?: string;
  readonly credentials?: never;
}

/** An S3 remote whose credentials expire and come from the app's function. */
export interface S3ExpiringCredentialsConfig extends S3RemoteConfigBase {
  readonly accessKeyId?: never;
  readonly secretAccessKey?: never;
  readonly sessionToken?: never;
  /**
   * Credentials that expire, instead of the fixed keys: a function returning fresh ones
   * (`{ accessKeyId, secretAccessKey, sessionToken, expiration }`, e.g. from the app's backend,
   * which asks STS or R2 for temporary credentials scoped to this user's prefix). It is called
   * before the first request, again shortly before `expiration` (5 minutes, at most half their
   * lifetime) and when the store refuses a request as `ExpiredToken`; concurrent requests share one
   * call. If it throws, syncing fails with `REMOTE_CREDENTIALS` and nothing is written.
   *
   * A function cannot cross the worker boundary: `openReplica` keeps it on the main thread and the
   * worker calls it there.
   */
  readonly credentials: S3CredentialsProvider;
}

/** Every kind of remote: plain data, but for an optional credentials or token function. */
export type RemoteConfig = HttpRemoteConfig | S3RemoteConfig;

/** The remote contracts a replica syncs through. */
export interface ReplicaRemote {
  readonly storage: Storage;
  readonly kv: CasKv;
  /** Content-addressed blobs (`Replica.putBlob` uploads, `getBlob` downloads), beside the chain. */
  readonly blobs: RemoteBlobs;
  /**
   * The check a `RemoteWatcher` makes of the chain of `clientId`: whether its pointer moved (held
   * open by a server with the change signal, a plain conditional GET elsewhere), or `null` when
   * the backend cannot read conditionally (then only the scheduler's interval finds changes).
   */
  readonly watchHead: (clientId: string) => HeadCheck | null;
  /**
   * The versions of the chain's pointer this replica's storage read or wrote lately, so that a
   * watch reporting one of them after a sync is not taken for another device's change.
   */
  readonly headsSeen: (clientId: string) => readonly ObjectVersion[];
  /**
   * What the data set of `clientId` holds on the server, from one LIST ({@link DataSetUse}), or
   * `null` where the server cannot list. Costs a listing request per 1,000 objects (S3): for people
   * to see, after a compaction, not for every sync.
   */
  readonly usage: (clientId: string) => Promise<DataSetUse | null>;
}

const HTTP_SHAPE = "{ kind: 'http', url, prefix, token? (a string or a function returning one), timeoutMs? }";
const S3_SHAPE =
  "{ kind: 's3', endpoint, region, bucket?, accessKeyId, secretAccessKey, sessionToken? (or credentials: () => fresh ones), prefix, timeoutMs? }";
const HTTP_KEYS = ['kind', 'url', 'token', 'prefix', 'timeoutMs'];
const S3_KEYS = [
  'kind',
  'endpoint',
  'region',
  'bucket',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'credentials',
  'prefix',
  'timeoutMs',
];

// AWS's current bucket naming rules (R2 and Ceph accept the same): 3–63 of a-z 0-9 . -, starting
// and ending with a letter or digit, no "..", not shaped like an IP address.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_LIKE = /^\d+\.\d+\.\d+\.\d+$/;
// Region names are lowercase words and digits joined by hyphens (us-east-1, auto, eu-central-2).
const REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Checks a {@link RemoteConfig}; throws INVALID_ARGUMENT saying what to pass. */
export function assertRemoteConfig(config: unknown): asserts config is RemoteConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidArgumentError('remote', `expected ${HTTP_SHAPE} or ${S3_SHAPE}.`);
  }
  const c = config as Record<string, unknown>;
  if (c.kind === 'http') assertHttp(c);
  else if (c.kind === 's3') assertS3(c);
  else {
    throw new InvalidArgumentError(
      'remote.kind',
      `expected 'http' (${HTTP_SHAPE}) or 's3' (${S3_SHAPE}), got ${JSON.stringify(c.kind) ?? 'undefined'}.`,
    );
  }
}

function assertHttp(c: Record<string, unknown>): void {
  assertOnlyKeys(c, HTTP_KEYS, HTTP_SHAPE);
  assertHttpUrl(c.url, 'remote.url');
  assertCommon(c);
  if (
    c.token !== undefined &&
    typeof c.token !== 'function' &&
    (typeof c.token !== 'string' || c.token === '')
  ) {
    throw new InvalidArgumentError(
      'remote.token',
      'expected a non-empty string, a function returning a fresh token (or { token, expiration }), or leave it out.',
    );
  }
}

function assertS3(c: Record<string, unknown>): void {
  assertOnlyKeys(c, S3_KEYS, S3_SHAPE);
  const endpoint = assertHttpUrl(c.endpoint, 'remote.endpoint');
  if (endpoint.search !== '' || endpoint.hash !== '') {
    throw new InvalidArgumentError(
      'remote.endpoint',
      'must not have a query or fragment: pass the store URL only (e.g. https://<account>.r2.cloudflarestorage.com).',
    );
  }
  if (endpoint.username !== '' || endpoint.password !== '') {
    throw new InvalidArgumentError(
      'remote.endpoint',
      'must not carry credentials: pass them as accessKeyId and secretAccessKey.',
    );
  }
  if (typeof c.region !== 'string' || !REGION.test(c.region)) {
    throw new InvalidArgumentError(
      'remote.region',
      `expected the bucket's signing region such as 'us-east-1' ('auto' for R2), got ${describe(c.region)}.`,
    );
  }
  if (c.bucket !== undefined) {
    const bucket = c.bucket;
    if (typeof bucket !== 'string' || !BUCKET.test(bucket) || bucket.includes('..') || IP_LIKE.test(bucket)) {
      throw new InvalidArgumentError(
        'remote.bucket',
        `expected an S3 bucket name (3–63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit), got ${describe(bucket)}. ` +
          'A bucket with an older-style name can be reached by putting it in the endpoint URL and leaving bucket out.',
      );
    }
  }
  if (c.credentials !== undefined) {
    if (typeof c.credentials !== 'function') {
      throw new InvalidArgumentError(
        'remote.credentials',
        `expected a function returning { accessKeyId, secretAccessKey, sessionToken?, expiration? }, got ${describe(c.credentials)}.`,
      );
    }
    const fixed = ['accessKeyId', 'secretAccessKey', 'sessionToken'].filter((k) => c[k] !== undefined);
    if (fixed.length > 0) {
      throw new InvalidArgumentError(
        'remote.credentials',
        `comes instead of fixed keys: leave out ${fixed.join(', ')} (the function returns them).`,
      );
    }
  } else {
    assertNonEmptyString(c.accessKeyId, 'remote.accessKeyId', 'the access key id of the S3 credentials');
    assertNonEmptyString(
      c.secretAccessKey,
      'remote.secretAccessKey',
      'the secret access key of the S3 credentials (or pass credentials: a function returning temporary ones)',
    );
    assertOptionalString(c.sessionToken, 'remote.sessionToken');
  }
  assertCommon(c);
}

function assertCommon(c: Record<string, unknown>): void {
  if (c.prefix === undefined) {
    throw new InvalidArgumentError(
      'remote.prefix',
      "is missing: name this data set's objects on the server, e.g. prefix: 'notes/alice'. " +
        'Every replica of the data set uses the same prefix; another prefix is another data set.',
    );
  }
  assertKey(c.prefix, 'remote.prefix');
  const timeout = c.timeoutMs;
  if (timeout !== undefined && !isPositiveInteger(timeout)) {
    throw new InvalidArgumentError('remote.timeoutMs', 'expected a positive integer (milliseconds).');
  }
}

function assertOnlyKeys(c: Record<string, unknown>, allowed: readonly string[], shape: string): void {
  const unknown = Object.keys(c).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      'remote',
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} for kind ${JSON.stringify(c.kind)}; expected ${shape}.`,
    );
  }
}

function assertHttpUrl(value: unknown, argument: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidArgumentError(argument, `expected an absolute http(s) URL, got ${describe(value)}.`);
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidArgumentError(argument, `expected an http(s) URL, got ${describe(value)}.`);
  }
  return url;
}

function assertNonEmptyString(value: unknown, argument: string, what: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(argument, `expected ${what}, a non-empty string; got ${describe(value)}.`);
  }
}

function assertOptionalString(value: unknown, argument: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    throw new InvalidArgumentError(argument, 'expected a non-empty string, or leave it out.');
  }
}

/** Names a bad value without echoing it whole (it may be a secret). */
function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'string')
    return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  return typeof value;
}

/**
 * What identifies the credentials of `config` for the probe cache (hashed there, never stored):
 * fixed ones in full; none for a function, whose results change with each renewal (calling it only
 * to name a cache entry would spend a credential request; the probe measures the server anyway).
 */
function credentialsIdentity(config: RemoteConfig): string[] {
  if (config.kind === 'http') return typeof config.token === 'string' ? ['bearer', config.token] : [];
  if (config.credentials !== undefined) return ['s3', config.region];
  return ['s3', config.region, config.accessKeyId, config.secretAccessKey, config.sessionToken ?? ''];
}

/** Options of {@link openRemote}. */
export interface OpenRemoteOptions {
  /**
   * Where a passed capability probe is remembered (the worker passes the store's IndexedDB), so the
   * next open within `PROBE_CACHE_TTL_MS` (a day) sends no probe request; without it the probe runs
   * once per process.
   */
  readonly probeCache?: ProbeCacheStore;
}

/**
 * How `connectRemote` reaches the server of `config` (exported for tests). The signer of an S3
 * remote and the renewal of a token function are loaded here, on first use (`import()`): an app
 * that uses neither never downloads them.
 * @throws CodeLoadError if that code cannot be loaded; the next call tries again.
 */
export async function connectOptions(
  config: RemoteConfig,
  opened: OpenRemoteOptions = {},
): Promise<ConnectRemoteOptions> {
  // The probe's scratch objects go under the data set's prefix too: credentials scoped to that
  // prefix (as they should be in a browser) could not write anywhere else.
  const probe = { keyPrefix: `${config.prefix}/` };
  const probeCache = opened.probeCache && {
    store: opened.probeCache,
    identity: credentialsIdentity(config),
  };
  if (config.kind === 'http') {
    return {
      probeCache,
      baseUrl: config.url,
      headers: typeof config.token === 'string' ? { Authorization: `Bearer ${config.token}` } : undefined,
      fetch:
        typeof config.token === 'function'
          ? (await bearerFetchPart.load()).bearerFetch(config.token)
          : undefined,
      timeoutMs: config.timeoutMs,
      probe,
      settings: settingNames(config),
      // The reference server's listing; another HTTP server refuses it, and then nothing is listed.
      list: 'json',
    };
  }
  const endpoint = config.endpoint.replace(/\/+$/, '');
  const { s3Fetch } = await s3FetchPart.load();
  return {
    // Path-style: the bucket is the first path segment under the endpoint.
    baseUrl: config.bucket === undefined ? endpoint : `${endpoint}/${config.bucket}`,
    fetch: s3Fetch(
      config.credentials !== undefined
        ? { region: config.region, credentials: config.credentials }
        : {
            region: config.region,
            accessKeyId: config.accessKeyId,
            secretAccessKey: config.secretAccessKey,
            sessionToken: config.sessionToken,
          },
    ),
    timeoutMs: config.timeoutMs,
    // S3 states no limit in a header; its limit per PUT is known (R2 and Ceph RGW keep the same).
    maxObjectBytes: S3_MAX_OBJECT_BYTES,
    probe,
    probeCache,
    settings: settingNames(config),
    // ListObjectsV2 of the prefix: credentials scoped to it may list it (else nothing is listed).
    list: 's3',
  };
}

/**
 * How the backend's messages name the settings of `config`: what the application wrote (`remote.url`,
 * `remote.token`, …), not the HTTP backend's internal options. A refusal says whether credentials
 * were given at all: a missing token and a wrong one need different fixes.
 */
function settingNames(config: RemoteConfig): SettingNames {
  const timeout = 'remote.timeoutMs';
  if (config.kind === 'http') {
    return {
      url: 'remote.url',
      timeout,
      unauthorized:
        config.token === undefined
          ? 'The server wants credentials and the replica has none: set remote.token to a token the server accepts (it is sent as Authorization: Bearer <token>).'
          : 'The server refused remote.token: check that it is the token the server expects and that it has not expired or been revoked.',
    };
  }
  const keys =
    config.credentials !== undefined
      ? 'check the keys remote.credentials returns'
      : 'check remote.accessKeyId and remote.secretAccessKey' +
        (config.sessionToken === undefined
          ? ''
          : ' with remote.sessionToken (temporary credentials expire: get fresh ones, or pass remote.credentials, a function that does)');
  return {
    url: 'remote.endpoint and remote.bucket (the bucket must exist)',
    timeout,
    unauthorized:
      `The store refused the credentials: ${keys}, ` +
      "that remote.region is the bucket's region, and that the key may read and write under remote.prefix.",
  };
}

/**
 * The remote Storage, CasKv and blob store of `config`. Nothing is sent until the first sync: the
 * server's capability probe runs then (a replica opens offline), and is retried on the next sync if
 * the server could not be reached.
 */
export function openRemote(config: RemoteConfig, opened: OpenRemoteOptions = {}): ReplicaRemote {
  assertRemoteConfig(config);
  return remoteDataSet(
    lazyBackend(async () => connectRemote(await connectOptions(config, opened))),
    config.prefix,
  );
}

/**
 * The layout of one data set on an object server, under `prefix`: the version chain in
 * `<prefix>/chain`, metadata (the encryption record) in `<prefix>/meta`, blobs in `<prefix>/blobs`.
 * Every replica of a data set — a browser's worker or a Node program using `Replica` — must use
 * this layout to see the same chain.
 */
export function remoteDataSet(backend: AtomicRemoteBackend, prefix: string): ReplicaRemote {
  assertKey(prefix, 'prefix');
  const storage = new RemoteStorage(backend, { prefix: `${prefix}/chain` });
  return {
    storage,
    kv: new RemoteCasKv(backend, { prefix: `${prefix}/meta` }),
    blobs: new RemoteBlobs(backend, { prefix: `${prefix}/blobs` }),
    watchHead: (clientId) => {
      assertUuid(clientId, 'clientId');
      const read = backend.readIfChanged?.bind(backend);
      const key = storage.pointerKey(clientId);
      return read ? (since, options) => read(key, since, options) : null;
    },
    headsSeen: (clientId) => storage.pointerVersions(clientId),
    usage: (clientId) => {
      assertUuid(clientId, 'clientId');
      return dataSetUse(backend, prefix, storage.versionIndexPrefix(clientId));
    },
  };
}

/** A backend connected on first use; a failed connection is retried by the next call. */
function lazyBackend(connect: () => Promise<HttpRemoteBackend>): AtomicRemoteBackend {
  let connected: Promise<HttpRemoteBackend> | null = null;
  const get = () => {
    if (!connected) {
      const attempt = connect();
      connected = attempt;
      attempt.catch(() => {
        if (connected === attempt) connected = null;
      });
    }
    return connected;
  };
  const listing = async (prefix: string) => {
    const backend = await get();
    if (!backend.listObjects) throw new DeterminateRemoteError('This connection cannot list objects.');
    return backend.listObjects(prefix);
  };
  return {
    download: async (key) => (await get()).download(key),
    upload: async (key, data) => (await get()).upload(key, data),
    exists: async (key) => (await get()).exists(key),
    delete: async (key) => (await get()).delete(key),
    objectVersion: async (key) => (await get()).objectVersion(key),
    downloadVersioned: async (key) => (await get()).downloadVersioned(key),
    uploadConditional: async (key, data, condition) => (await get()).uploadConditional(key, data, condition),
    deleteConditional: async (key, condition) => (await get()).deleteConditional(key, condition),
    // The head watcher's check (held open when the probe found the change signal).
    readIfChanged: async (key, since, options) => (await get()).readIfChanged(key, since, options),
    // What the probe learned of the server's object limit: RemoteStorage writes snapshots in parts
    // under it and states the largest version from it.
    maxObjectBytes: async () => (await (await get()).maxObjectBytes?.()) ?? null,
    // Listings (`ReplicaRemote.usage`, remote blob GC) as the connection's kind lists; object ages
    // (blob GC, and the refresh of an old blob a push relies on).
    list: async (prefix) => (await listing(prefix)).map((object) => object.key),
    listObjects: (prefix) => listing(prefix),
    lastModified: async (key) => (await get()).lastModified(key),
  };
}
