/**
 * Issue 10, item 2: one operation too big for the remote must never jam the queue. Versions are
 * planned by encoded size as well as count, under the limit the remote states (or learns from a
 * 413) and the configured `maxVersionBytes`; a write that can never fit is refused at once; an
 * operation stuck in the queue is named by a typed sync() error and can be discarded.
 */
import type { ReplicaChangeEvent } from '../contracts/replica.js';
import { describe, expect, it } from 'vitest';
import { OperationTooLargeError, OperationsStuckError, type ChainsyncError } from '../contracts/errors.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { noise } from '../test-support/noise.js';
import { LimitedStorage } from '../test-support/limited-storage.js';
import { Replica, type ReplicaOptions } from './replica.js';

const LIMIT = 8 * 1024;

async function open(
  storage: LimitedStorage | undefined,
  clientId: string,
  extra: Partial<ReplicaOptions> = {},
) {
  const store = new MemoryReplicaStore();
  const replica = await Replica.open({ store, ...(storage ? { storage, clientId } : {}), ...extra });
  return replica;
}

describe('versions under a size limit (issue 10 item 2)', () => {
  it('(a) once the remote stated its limit, a value over it is refused and later small edits still leave the device', async () => {
    const storage = new LimitedStorage(new MemoryStorage(), LIMIT);
    const clientId = crypto.randomUUID();
    const a = await open(storage, clientId);
    const b = await open(storage, clientId);
    await a.create('notes', 'n', { title: 'small' });
    await a.sync(); // learns the remote's limit
    const error = await rejectsWith<OperationTooLargeError>(
      a.update('notes', 'n', { body: noise(4 * LIMIT) }),
      'OPERATION_TOO_LARGE',
    );
    expect(error).toBeInstanceOf(OperationTooLargeError);
    expect(error).toMatchObject({ limit: LIMIT, collection: 'notes', id: 'n', property: 'body' });
    expect(error.message).toContain(String(LIMIT));
    expect(error.message).toContain('putBlob');
    expect(await a.get('notes', 'n')).toEqual({ title: 'small' });
    expect(await a.pendingCount()).toBe(0);

    await a.update('notes', 'n', { title: 'edited' });
    const pushed = await a.sync();
    expect(pushed.pushedOperations).toBe(1);
    expect(await a.pendingCount()).toBe(0);
    await b.sync();
    expect(await b.get('notes', 'n')).toEqual({ title: 'edited' });
    expect(storage.refused).toBe(0);
  });

  it('(b) the configured maxVersionBytes refuses at write time, offline too, naming the limit and blobs', async () => {
    const a = await open(undefined, '', { maxVersionBytes: 4096 });
    await a.create('notes', 'n', { title: 'kept' });
    const before = await a.pendingCount();
    for (const write of [
      () => a.create('notes', 'big', { body: noise(16 * 1024) }),
      () => a.update('notes', 'n', { title: 'x', body: noise(16 * 1024) }),
      () =>
        a.change([
          { type: 'update', collection: 'notes', id: 'n', properties: { title: 'changed' } },
          { type: 'create', collection: 'notes', id: 'other', properties: { body: noise(16 * 1024) } },
        ]),
    ]) {
      const error = await rejectsWith<OperationTooLargeError>(write(), 'OPERATION_TOO_LARGE');
      expect(error.limit).toBe(4096);
      expect(error.size).toBeGreaterThan(4096);
      expect(error.message).toMatch(/4096 bytes/);
      expect(error.message).toContain('putBlob');
    }
    // Nothing of the refused writes happened: all or nothing.
    expect(await a.list('notes')).toEqual([{ collection: 'notes', id: 'n', properties: { title: 'kept' } }]);
    expect(await a.pendingCount()).toBe(before);
    // A value that compresses under the limit is fine (the limit is on the encoded version).
    await a.update('notes', 'n', { body: 'a'.repeat(16 * 1024) });

    for (const bad of [0, -1, 1.5, '4096', Number.NaN]) {
      await rejectsWith(
        Replica.open({ store: new MemoryReplicaStore(), maxVersionBytes: bad as number }),
        'INVALID_ARGUMENT',
      );
    }
  });

  for (const stated of [true, false]) {
    it(`(c) an operation stuck in the queue is named by sync() and can be discarded (limit ${stated ? 'stated' : 'only answered with 413'})`, async () => {
      const storage = new LimitedStorage(new MemoryStorage(), LIMIT, { stated });
      const clientId = crypto.randomUUID();
      // Written before anything told this replica the remote's limit: the write check passes.
      const a = await open(storage, clientId);
      const b = await open(storage, clientId);
      const events: ReplicaChangeEvent[] = [];
      a.subscribe((e) => events.push(e));
      await a.create('notes', 'first', { title: 'before' });
      await a.create('notes', 'big', { title: 'big one' });
      await a.update('notes', 'big', { body: noise(4 * LIMIT) });
      await a.create('notes', 'after', { title: 'after' });
      const pendingBefore = await a.pendingCount();

      const error = await rejectsWith<OperationsStuckError>(a.sync(), 'OPERATIONS_STUCK');
      expect(error).toBeInstanceOf(OperationsStuckError);
      // Stated, the limit is the remote's; answered with 413 only, the largest size not refused.
      if (stated) expect(error.limit).toBe(LIMIT);
      else expect(error.limit).toBeGreaterThanOrEqual(LIMIT);
      expect(error.operations[0]?.bytes).toBeGreaterThan(error.limit);
      expect(error.operations).toHaveLength(1);
      const [stuck] = error.operations;
      expect(stuck).toMatchObject({ collection: 'notes', id: 'big', type: 'update', property: 'body' });
      expect(error.message).toContain('discardPending');
      // The same error again: the queue is stuck, not lost.
      const again = await rejectsWith<OperationsStuckError>(a.sync(), 'OPERATIONS_STUCK');
      expect(again.operations.map((o) => o.seq)).toEqual([stuck!.seq]);
      // What came before the stuck operation did leave the device.
      await b.sync();
      expect(await b.get('notes', 'first')).toEqual({ title: 'before' });
      expect(await b.get('notes', 'big')).toEqual({ title: 'big one' });

      events.length = 0;
      const dropped = await a.discardPending([stuck!.seq]);
      expect(dropped).toHaveLength(1);
      expect(dropped[0]).toMatchObject({ type: 'update', collection: 'notes', id: 'big', property: 'body' });
      expect(events).toEqual([
        expect.objectContaining({ objects: [{ collection: 'notes', id: 'big' }], dropped }),
      ]);
      // Exactly that operation was rolled back; the rest of the queue is untouched.
      expect(await a.get('notes', 'big')).toEqual({ title: 'big one' });
      expect(await a.get('notes', 'after')).toEqual({ title: 'after' });

      const drained = await a.sync();
      expect(drained.pushedOperations).toBe(2); // the create and update of `after`
      expect(await a.pendingCount()).toBe(0);
      expect(pendingBefore).toBe(7);
      await b.sync();
      expect(await b.list('notes')).toEqual(await a.list('notes'));
      expect(await b.get('notes', 'after')).toEqual({ title: 'after' });
      // Now the limit is known, a value over it is refused at write time.
      await rejectsWith(a.update('notes', 'after', { body: noise(8 * LIMIT) }), 'OPERATION_TOO_LARGE');
    });
  }

  it('(c) discardPending validates its input and changes nothing on a bad call', async () => {
    const a = await open(undefined, '');
    await a.create('notes', 'n', { title: 't' });
    const pending = await a.pendingCount();
    await rejectsWith(a.discardPending('1' as unknown as number[]), 'INVALID_ARGUMENT');
    await rejectsWith(a.discardPending([1.5]), 'INVALID_ARGUMENT');
    const missing = await rejectsWith<ChainsyncError>(a.discardPending([1, 999]), 'NOT_FOUND');
    expect(missing.message).toContain('999');
    expect(await a.pendingCount()).toBe(pending);
    expect(await a.get('notes', 'n')).toEqual({ title: 't' });
    expect(await a.discardPending([])).toEqual([]);
    // Discarding a create rolls the object back to not existing (its update goes with it).
    const dropped = await a.discardPending([1, 2]);
    expect(dropped.map((o) => o.type)).toEqual(['create', 'update']);
    expect(await a.get('notes', 'n')).toBeNull();
    expect(await a.pendingCount()).toBe(0);
  });

  for (const stated of [true, false]) {
    it(`(d) many medium operations are split into several versions, each under the limit (${stated ? 'stated' : 'only answered with 413'})`, async () => {
      const storage = new LimitedStorage(new MemoryStorage(), LIMIT, { stated });
      const clientId = crypto.randomUUID();
      const a = await open(storage, clientId);
      const b = await open(storage, clientId);
      const count = 40;
      await a.change(
        Array.from({ length: count }, (_, i) => ({
          type: 'create' as const,
          collection: 'notes',
          id: `n${i}`,
          properties: { body: noise(1500) },
        })),
      );
      const result = await a.sync();
      expect(result.pushedOperations).toBe(2 * count);
      expect(result.pushedVersions).toBeGreaterThan(4);
      // Stated, the plan fits at once; otherwise each 413 halves it until it does (none is stuck).
      if (stated) expect(storage.refused).toBe(0);
      else expect(storage.refused).toBeGreaterThan(0);
      expect(storage.landed.every((bytes) => bytes <= LIMIT)).toBe(true);
      expect(await a.pendingCount()).toBe(0);
      await b.sync();
      expect(await b.list('notes')).toEqual(await a.list('notes'));
    });
  }
});
