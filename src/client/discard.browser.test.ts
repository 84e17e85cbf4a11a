/**
 * Issue 10, item 2, through the worker in every browser engine: an operation that can no longer fit in one
 * version (here: written under a larger maxVersionBytes than the replica now has) makes sync()
 * fail with a typed OPERATIONS_STUCK error naming it, across the worker boundary; discardPending
 * removes exactly it, reported as dropped to the tab, and the queue drains.
 */
import type { ReplicaChange } from '../contracts/replica.js';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { OperationsStuckError } from '../contracts/errors.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { noise } from '../test-support/noise.js';
import { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

async function open(options: Partial<OpenReplicaOptions> & { name: string; clientId: string }) {
  const replica = await openReplica({
    remote: { kind: 'http', url: serverUrl, prefix: `set-${options.clientId}` },
    // Syncs only when asked: the test decides when.
    schedule: { syncOnStart: false, intervalMs: 0, debounceMs: 60_000 },
    ...options,
  });
  opened.push(replica);
  return replica;
}

describe('a stuck operation, through the worker', () => {
  it('sync() names it with OPERATIONS_STUCK, discardPending drops exactly it, and the queue drains', async () => {
    const clientId = crypto.randomUUID();
    const name = `stuck-${clientId}`;
    const before = await open({ name, clientId, remote: undefined, maxVersionBytes: 1024 * 1024 });
    await before.create('notes', 'n', { title: 'first' });
    await before.update('notes', 'n', { attachment: noise(200_000) });
    await before.update('notes', 'n', { title: 'after' });
    await before.close();
    opened.splice(0);

    const a = await open({ name, clientId, maxVersionBytes: 64 * 1024 });
    const heard: ReplicaChange[] = [];
    a.subscribe((c) => heard.push(c));
    const stuck = await rejectsWith<OperationsStuckError>(a.sync(), 'OPERATIONS_STUCK');
    expect(stuck.name).toBe('OperationsStuckError'); // revived as its class, fields and all
    expect(stuck.limit).toBe(64 * 1024);
    expect(stuck.operations).toEqual([
      expect.objectContaining({ collection: 'notes', id: 'n', type: 'update', property: 'attachment' }),
    ]);
    expect((await a.status()).lastError?.code).toBe('OPERATIONS_STUCK');

    const dropped = await a.discardPending(stuck.operations.map((o) => o.seq));
    expect(dropped).toEqual([expect.objectContaining({ type: 'update', property: 'attachment' })]);
    expect(heard).toEqual([
      {
        type: 'change',
        source: 'local',
        objects: [{ collection: 'notes', id: 'n' }],
        dropped,
        overridden: [],
      },
    ]);
    expect(await a.get('notes', 'n')).toEqual({ title: 'after' });
    expect(await a.sync()).toMatchObject({ pushedOperations: 1 });
    expect((await a.status()).pending).toBe(0);

    const b = await open({ name: `stuck-b-${clientId}`, clientId });
    await b.sync();
    expect(await b.get('notes', 'n')).toEqual({ title: 'after' });
  });
});
