/**
 * `status().transport` in every browser engine, over the reference server: the leader's watcher holds its
 * request (the change signal), and every tab of the store shows it; the next leader after the
 * first closes shows its own; a replica opened with `schedule.live: false` says `off`.
 */
import type { ReplicaStatus } from '../contracts/replica.js';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { defaultWorker } from './open-store.js';
import { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

async function tab(name: string, clientId: string, schedule?: OpenReplicaOptions['schedule']) {
  const replica = await openReplica({
    name,
    clientId,
    remote: { kind: 'http', url: serverUrl, prefix: `transport-${clientId}` },
    schedule: { intervalMs: 0, ...schedule },
    worker: () => defaultWorker(),
  });
  opened.push(replica);
  return replica;
}

/** Resolves once `replica`'s status satisfies `ok` (now or at a later status event). */
function statusWhere(replica: ReplicaClient, ok: (s: ReplicaStatus) => boolean): Promise<ReplicaStatus> {
  return new Promise((resolve) => {
    const stop = replica.onStatus((s) => {
      if (!ok(s)) return;
      stop();
      resolve(s);
    });
    void replica.status().then((s) => {
      if (!ok(s)) return;
      stop();
      resolve(s);
    });
  });
}

describe('status().transport in a browser', () => {
  it('is signal in the leader and in a follower tab, and again under the next leader', async () => {
    const clientId = crypto.randomUUID();
    const name = `transport-${clientId}`;
    // The chain has a pointer: the watcher's first request is answered at once, saying whether the
    // server held it (until its first answer the watcher cannot know, and says polling).
    const writer = await tab(`transport-w-${clientId}`, clientId, { live: false });
    await writer.create('todos', 'x');
    await writer.sync();
    const first = await tab(name, clientId);
    await statusWhere(first, (s) => s.leader && s.transport === 'signal');
    const second = await tab(name, clientId);
    const seen = await statusWhere(second, (s) => s.transport === 'signal');
    expect(seen.leader).toBe(false);

    await first.close();
    opened.splice(opened.indexOf(first), 1);
    const next = await statusWhere(second, (s) => s.leader && s.transport === 'signal');
    expect(next).toMatchObject({ leader: true, transport: 'signal' });
  });

  it('is off when live sync is turned off', async () => {
    const clientId = crypto.randomUUID();
    const replica = await tab(`transport-off-${clientId}`, clientId, { live: false });
    await statusWhere(replica, (s) => s.leader);
    await replica.sync();
    expect((await replica.status()).transport).toBe('off');
  });
});
