/**
 * A live remote for one test file that reruns cases written against an in-memory backend: the
 * reference server on 127.0.0.1 in a fresh directory, or a bucket on Ceph's RADOS Gateway. Each
 * registers `beforeAll` / `afterAll` hooks and hands the connected backend (with LIST, so cases
 * can count and rewrite objects) to `use`. Test support only, not public API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { connectRemote } from '../remote/http/connect.js';
import type { HttpRemoteBackend } from '../remote/http/http-backend.js';
import { s3Fetch } from '../remote/http/s3-fetch.js';
import { startServer, type RunningServer as ReferenceServer } from '../server/index.js';
import { CEPH_CREDENTIALS, startCeph, type RunningServer } from './interop-servers.js';

/** How another process reaches the same remote (the compaction process cases spawn compactors). */
export interface LiveConnection {
  readonly baseUrl: string;
  readonly list: 'json' | 's3';
  readonly headers?: Readonly<Record<string, string>>;
  /** SigV4 credentials, for a bucket on Ceph RGW. */
  readonly s3?: typeof CEPH_CREDENTIALS;
}

/** The reference server in a temporary directory, with a bearer token; `name` tags the directory. */
export function useReferenceServer(
  name: string,
  use: (backend: HttpRemoteBackend, connection: LiveConnection) => void,
): void {
  let server: ReferenceServer | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `chainsync-${name}-`));
    const token = `${name}-token`;
    server = await startServer({ dir, port: 0, token });
    const connection = {
      baseUrl: server.url,
      headers: { authorization: `Bearer ${token}` },
      list: 'json',
    } as const;
    use(await connectRemote(connection), connection);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
}

/**
 * A fresh bucket `chainsync-<name>-<random>` on Ceph RGW, reached through SigV4 (call only when
 * `requireCeph()` found Ceph).
 */
export function useCephBucket(
  name: string,
  use: (backend: HttpRemoteBackend, connection: LiveConnection) => void,
): void {
  const signed = s3Fetch(CEPH_CREDENTIALS);
  let ceph: (RunningServer & { endpoint: string }) | undefined;
  beforeAll(async () => {
    ceph = await startCeph();
    const bucket = `${ceph.endpoint}/chainsync-${name}-${crypto.randomUUID().slice(0, 8)}`;
    const created = await signed(bucket, { method: 'PUT' });
    if (!created.ok) throw new Error(`creating bucket ${bucket}: ${created.status}`);
    use(await connectRemote({ baseUrl: bucket, fetch: signed, list: 's3' }), {
      baseUrl: bucket,
      list: 's3',
      s3: CEPH_CREDENTIALS,
    });
  }, 180_000);
  afterAll(() => ceph?.stop());
}
