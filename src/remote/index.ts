/**
 * Remote implementations of the contracts, built only on an {@link AtomicRemoteBackend}, and the
 * HTTP backend that carries them to any server passing the capability probe.
 */
export { RemoteCasKv, type RemoteCasKvOptions } from './remote-cas-kv.js';
export { RemoteConsensus, type RemoteConsensusOptions } from './remote-consensus.js';
export { RemoteStorage, type RemoteStorageOptions } from './remote-storage.js';
export { RemoteBlobs, type RemoteBlobsOptions, type RemoteBlobGcOptions } from './remote-blobs.js';
export type { DataSetUse } from './data-set-use.js';
export type { RetryOptions } from './remote-io.js';
export {
  openRemote,
  remoteDataSet,
  type RemoteConfig,
  type HttpRemoteConfig,
  type S3RemoteConfig,
  type S3RemoteConfigBase,
  type S3FixedKeysConfig,
  type S3ExpiringCredentialsConfig,
  type ReplicaRemote,
  type OpenRemoteOptions,
} from './remote-config.js';
export * from './http/index.js';
