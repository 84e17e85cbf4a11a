/**
 * Live sync in every browser engine, through the reference server (docs/live-sync.md): device B's leader tab
 * learns of A's writes from its watcher of the chain's pointer (the change signal, across CORS:
 * `Prefer` preflighted, `Preference-Applied` exposed) and pulls them, with its interval sync off and
 * no sync() called on B. When B's leader tab closes, the next tab leads and keeps watching.
 */
import type { ReplicaChange } from '../contracts/replica.js';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { defaultWorker } from './open-store.js';
import { openReplica, type ReplicaClient } from './open-replica.js';

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

/** A tab of store `name`; B's tabs never sync on an interval. */
async function tab(name: string, clientId: string): Promise<ReplicaClient> {
  const replica = await openReplica({
    name,
    clientId,
    remote: { kind: 'http', url: serverUrl, prefix: `live-${clientId}` },
    schedule: { intervalMs: 0 },
    worker: () => defaultWorker(),
  });
  opened.push(replica);
  return replica;
}

/** Resolves with the first pulled change of `replica` that names object `id` (an event, not a time). */
function pulls(replica: ReplicaClient, id: string): Promise<ReplicaChange> {
  return new Promise((resolve) => {
    const unsubscribe = replica.subscribe((change) => {
      const names = change.objects === 'all' || change.objects.some((o) => o.id === id);
      if (change.source !== 'sync' || !names) return;
      unsubscribe();
      resolve(change);
    });
  });
}

describe('live sync in a browser', () => {
  it("B's leader pulls A's writes on its own (no interval, no sync() on B), and so does the next leader after it closes", async () => {
    const clientId = crypto.randomUUID();
    const a = await tab(`live-a-${clientId}`, clientId);
    const b1 = await tab(`live-b-${clientId}`, clientId);
    expect((await b1.status()).leader).toBe(true);
    const b2 = await tab(`live-b-${clientId}`, clientId);

    const first = pulls(b1, 'one');
    await a.create('todos', 'one', { title: 'from A' });
    await a.sync();
    await first;
    expect(await b1.get('todos', 'one')).toEqual({ title: 'from A' });

    await b1.close();
    opened.splice(opened.indexOf(b1), 1);
    const second = pulls(b2, 'two');
    await a.create('todos', 'two', { title: 'after the leader closed' });
    await a.sync();
    await second;
    expect(await b2.get('todos', 'two')).toEqual({ title: 'after the leader closed' });
    expect((await b2.status()).leader).toBe(true);
  });
});
