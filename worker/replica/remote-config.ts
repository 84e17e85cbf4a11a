import type { AtomicRemoteBackend } from '../../src/contracts/remote-backend.js';
import type { CasKv } from '../../src/contracts/cas-kv.js';
import type { Storage } from '../../src/contracts/storage.js';
import { InvalidArgumentError } from '../../src/contracts/errors.js';
import { assertKey } from '../../src/core/validate.js';
import { connectRemote } from '../../src/remote/http/connect.js';
import { RemoteCasKv } from '../../src/remote/remote-cas-kv.js';
import { RemoteStorage } from '../../src/remote/remote-storage.js';

/**
 * Where a worker-hosted replica syncs to, as plain data (it crosses the worker boundary, so it
 * cannot hold functions). `url` is the object server's base URL (the chainsync reference server or
 * any server that passes the probe); `token` is sent as `Authorization: Bearer <token>`; `prefix`
 * names this data set's objects on the server.
 */
export interface HttpRemoteConfig {
  readonly kind: 'http';
  readonly url: string;
  readonly token?: string;
  readonly prefix: string;
  /** Time limit of one request attempt in ms (default 30 000). */
  readonly timeoutMs?: number;
}

/** Every kind of serializable remote. */
export type RemoteConfig = HttpRemoteConfig;

/** The remote contracts a replica syncs through. */
export interface ReplicaRemote {
  readonly storage: Storage;
  readonly kv: CasKv;
}

/** Checks a {@link RemoteConfig}; throws INVALID_ARGUMENT saying what to pass. */
export function assertRemoteConfig(config: unknown): asserts config is RemoteConfig {
  const c = config as Partial<HttpRemoteConfig> | null;
  if (typeof c !== 'object' || c === null || c.kind !== 'http') {
    throw new InvalidArgumentError('remote', "expected { kind: 'http', url, prefix, token? }.");
  }
  let url: URL;
  try {
    url = new URL(String(c.url));
  } catch {
    throw new InvalidArgumentError('remote.url', `expected an absolute http(s) URL, got ${String(c.url)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('remote.url', `expected an http(s) URL, got ${url.protocol}.`);
  }
  assertKey(c.prefix, 'remote.prefix');
  if (c.token !== undefined && (typeof c.token !== 'string' || c.token.length === 0)) {
    throw new InvalidArgumentError('remote.token', 'expected a non-empty string, or leave it out.');
  }
  if (c.timeoutMs !== undefined && !(Number.isInteger(c.timeoutMs) && c.timeoutMs > 0)) {
    throw new InvalidArgumentError('remote.timeoutMs', 'expected a positive integer (milliseconds).');
  }
}

/**
 * The remote Storage and CasKv of `config`. Nothing is sent until the first sync: the server's
 * capability probe runs then (a replica opens offline), and is retried on the next sync if the
 * server could not be reached.
 */
export function openRemote(config: RemoteConfig): ReplicaRemote {
  const backend = lazyBackend(() =>
    connectRemote({
      baseUrl: config.url,
      headers: config.token ? { Authorization: `Bearer ${config.token}` } : undefined,
      timeoutMs: config.timeoutMs,
    }),
  );
  return {
    storage: new RemoteStorage(backend, { prefix: `${config.prefix}/chain` }),
    kv: new RemoteCasKv(backend, { prefix: `${config.prefix}/meta` }),
  };
}

/** A backend connected on first use; a failed connection is retried by the next call. */
function lazyBackend(connect: () => Promise<AtomicRemoteBackend>): AtomicRemoteBackend {
  let connected: Promise<AtomicRemoteBackend> | null = null;
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
  return {
    download: async (key) => (await get()).download(key),
    upload: async (key, data) => (await get()).upload(key, data),
    exists: async (key) => (await get()).exists(key),
    delete: async (key) => (await get()).delete(key),
    objectVersion: async (key) => (await get()).objectVersion(key),
    downloadVersioned: async (key) => (await get()).downloadVersioned(key),
    uploadConditional: async (key, data, condition) => (await get()).uploadConditional(key, data, condition),
    deleteConditional: async (key, condition) => (await get()).deleteConditional(key, condition),
  };
}
