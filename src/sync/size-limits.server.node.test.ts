/**
 * Size limits against chainsync's reference server started with a small body limit (256 KiB), on
 * 127.0.0.1: what a version, an operation or a snapshot too big for the server does to a replica.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import { toBase64 } from '../core/base64.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { connectRemote } from '../remote/http/connect.js';
import { RemoteStorage } from '../remote/remote-storage.js';
import { startServer, type RunningServer } from '../server/index.js';
import { Replica, type ReplicaOptions } from './replica.js';

// Real round trips on a loaded machine: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

const BODY_LIMIT = 256 * 1024;

let server: RunningServer | undefined;
let dir: string;
let backend: AtomicRemoteBackend;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-size-limits-'));
  server = await startServer({ dir, port: 0, maxBodyBytes: BODY_LIMIT });
  backend = await connectRemote({ baseUrl: server.url });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** `length` characters that gzip cannot shrink much (base64 of random bytes). */
function noise(length: number): string {
  const bytes = new Uint8Array(Math.ceil((length * 3) / 4));
  for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  return toBase64(bytes).slice(0, length);
}

/** A replica of `clientId`'s data set on the small server (one chain per data set, by prefix). */
function open(clientId: string, extra: Partial<ReplicaOptions> = {}) {
  const storage = new RemoteStorage(backend, { prefix: `set-${clientId}` });
  return Replica.open({ store: new MemoryReplicaStore(), storage, clientId, ...extra });
}

describe('a server with a 256 KiB body limit', () => {
  it('a snapshot over the limit never fails a sync whose versions landed', async () => {
    const clientId = crypto.randomUUID();
    // A snapshot after every push: the data set outgrows the body limit after a few files.
    const a = await open(clientId, { snapshotPolicy: { versions: 1, days: 14 } });
    const results = [];
    for (let i = 0; i < 14; i++) {
      await a.create('files', `f${i}`, { data: noise(40_000) });
      results.push(await a.sync());
    }
    for (const r of results) {
      expect(r.pushedVersions).toBe(1);
      // Uploaded (by a storage that writes snapshots in parts), or reported with the server's 413.
      expect(r.snapshotUploaded || r.snapshotError?.fields?.status === 413).toBe(true);
    }
    expect(await a.pendingCount()).toBe(0);
    const b = await open(clientId);
    await b.sync();
    expect((await b.list('files')).map((f) => f.id).sort()).toEqual(
      (await a.list('files')).map((f) => f.id).sort(),
    );
    expect(await b.list('files')).toHaveLength(14);
  });
});
