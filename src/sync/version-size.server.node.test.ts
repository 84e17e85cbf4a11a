/**
 * Issue 10, item 2, over the real reference server: a 546 kB property against a 256 KiB body
 * limit (`--max-body-bytes 262144`) must not jam the queue. The replica learns the limit (from the
 * server's word or its 413), names the stuck operation in a typed sync() error, lets the
 * application discard it, and then pushes the edits made after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OperationsStuckError } from '../contracts/errors.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { openRemote } from '../remote/remote-config.js';
import { startServer, type RunningServer } from '../server/index.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { noise } from '../test-support/noise.js';
import { Replica } from './replica.js';

// Real round trips of half a megabyte on a loaded machine (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

const MAX_BODY = 256 * 1024;

let server: RunningServer | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-version-size-'));
  server = await startServer({ dir, port: 0, token: 'size-token', maxBodyBytes: MAX_BODY });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function device(clientId: string, prefix: string): Promise<Replica> {
  const remote = openRemote({ kind: 'http', url: server!.url, token: 'size-token', prefix });
  return Replica.open({ store: new MemoryReplicaStore(), storage: remote.storage, clientId });
}

describe('a property over the reference server’s body limit (issue 10 item 2)', () => {
  it('names the stuck operation, discards it on request, and later edits leave the device', async () => {
    const clientId = crypto.randomUUID();
    const prefix = `size-${clientId}`;
    const a = await device(clientId, prefix);
    const b = await device(clientId, prefix);
    await a.create('notes', 'n', { title: 'before' });
    await a.update('notes', 'n', { attachment: noise(546_000) }); // ~410 kB gzipped: over 256 KiB
    await a.update('notes', 'n', { title: 'after' });

    const stuck = await rejectsWith<OperationsStuckError>(a.sync(), 'OPERATIONS_STUCK');
    expect(stuck.operations.map((o) => [o.collection, o.id, o.property])).toEqual([
      ['notes', 'n', 'attachment'],
    ]);
    expect(stuck.limit).toBeLessThan(stuck.operations[0]!.bytes);
    await b.sync();
    expect(await b.get('notes', 'n')).toEqual({ title: 'before' }); // what came before it landed

    const dropped = await a.discardPending(stuck.operations.map((o) => o.seq));
    expect(dropped).toEqual([expect.objectContaining({ type: 'update', property: 'attachment' })]);
    const result = await a.sync();
    expect(result.pushedOperations).toBe(1);
    expect(await a.pendingCount()).toBe(0);
    await b.sync();
    expect(await b.get('notes', 'n')).toEqual({ title: 'after' });
    expect(await a.get('notes', 'n')).toEqual({ title: 'after' });

    // The limit is known now (at most the size refused): a value over it is refused when written.
    await rejectsWith(a.update('notes', 'n', { attachment: noise(1_000_000) }), 'OPERATION_TOO_LARGE');
    expect(await a.pendingCount()).toBe(0);
  });

  it('knows the limit the server states (Chainsync-Max-Object-Bytes): a value over it is refused when written', async () => {
    const clientId = crypto.randomUUID();
    const remote = openRemote({
      kind: 'http',
      url: server!.url,
      token: 'size-token',
      prefix: `stated-${clientId}`,
    });
    // The header travels from the server through the probe and the HTTP backend to RemoteStorage.
    const { maxSegmentBytes } = await remote.storage.limits!();
    expect(maxSegmentBytes).toBeGreaterThan(MAX_BODY / 2);
    expect(maxSegmentBytes).toBeLessThan(MAX_BODY);
    const a = await Replica.open({ store: new MemoryReplicaStore(), storage: remote.storage, clientId });
    await a.create('notes', 'n', { title: 'small' });
    await a.sync();
    expect(await a.pendingCount()).toBe(0);
    // ~300 kB gzipped: under the replica's default maxVersionBytes, over what the server takes.
    await rejectsWith(a.update('notes', 'n', { attachment: noise(400_000) }), 'OPERATION_TOO_LARGE');
    expect(await a.pendingCount()).toBe(0);
  });
});
