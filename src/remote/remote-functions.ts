import type { BearerTokenProvider } from './http/bearer-fetch.js';
import type { S3CredentialsProvider } from './http/s3-fetch.js';
import type { RemoteConfig } from './remote-config.js';

/** The one function a {@link RemoteConfig} may hold: S3 `credentials`, or an HTTP `token` function. */
export type RemoteFunction = S3CredentialsProvider | BearerTokenProvider;

/**
 * Splits `config` into what structured clone can carry (to a worker) and its function, if any: the
 * worker gets the data and calls the function back on the main thread (through a comlink proxy), so
 * credentials are fetched where the app's session lives. {@link joinRemoteFunction} undoes it.
 */
export function splitRemoteFunction(config: RemoteConfig): { config: RemoteConfig; fn?: RemoteFunction } {
  if (config.kind === 's3' && typeof config.credentials === 'function') {
    const { credentials, ...data } = config;
    // Without its function the config is checked again in the worker, after the join.
    return { config: data as RemoteConfig, fn: credentials };
  }
  if (config.kind === 'http' && typeof config.token === 'function') {
    const { token, ...data } = config;
    return { config: data, fn: token };
  }
  return { config };
}

/** Puts the function {@link splitRemoteFunction} took out back into its place in `config`. */
export function joinRemoteFunction(config: RemoteConfig, fn: RemoteFunction): RemoteConfig {
  // A function whose kind does not match the config is caught by assertRemoteConfig afterwards.
  return config.kind === 's3'
    ? ({ ...config, credentials: fn as S3CredentialsProvider } as RemoteConfig)
    : { ...config, token: fn as BearerTokenProvider };
}
