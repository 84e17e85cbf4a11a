/** The HTTP remote adapter: an AtomicRemoteBackend on fetch, its capability probe and the connecting factory. */
export { HttpRemoteBackend } from './http-backend.js';
export {
  REPROBE_REFUSED_AFTER_MS,
  REPROBE_REFUSED_MAX_MS,
  connectRemote,
  forgetProbes,
  probeOnce,
  type ConnectRemoteOptions,
} from './connect.js';
export {
  probeServer,
  type ProbeCheck,
  type ProbeCheckResult,
  type ProbeOptions,
  type ProbeReport,
} from './probe.js';
export {
  NO_QUIRKS,
  S3_MAX_OBJECT_BYTES,
  type FetchLike,
  type HeadersSource,
  type HttpBackendOptions,
  type HttpTransportOptions,
  type ListDialect,
  type ReadRetryOptions,
  type ServerQuirks,
  type ServerSurprise,
  type SettingNames,
} from './options.js';
export {
  MemoryProbeCacheStore,
  PROBE_CACHE_TTL_MS,
  probeCacheKey,
  type ProbeCacheOptions,
} from './probe-cache.js';
export {
  s3Fetch,
  s3CredentialsExpired,
  type S3Credentials,
  type S3CredentialsProvider,
  type S3RefreshingCredentials,
  type S3TemporaryCredentials,
} from './s3-fetch.js';
export type { Expiration } from './credentials.js';
export {
  bearerFetch,
  type BearerFetchOptions,
  type BearerToken,
  type BearerTokenProvider,
} from './bearer-fetch.js';
