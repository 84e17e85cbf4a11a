/**
 * Two tabs, simulated in one realm: each tab has its own Replica and its own QueryClient, and the
 * tabs share one local store (as tabs share one IndexedDB database). Changes travel between them on
 * a real BroadcastChannel (Node's and Chromium's own), so a write in one tab updates the other
 * tab's queries — exactly the affected ones.
 */
import { MutationObserver, QueryClient } from '@tanstack/query-core';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../contracts/errors.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from '../sync/replica.js';
import { bindQueryClient } from './binding.js';
import { defineCollection } from './collection.js';
import { replicaMutations } from './mutations.js';
import { replicaQueries } from './options.js';
import { shareChangesAcrossTabs, type TabSharedReplica } from './tab-feed.js';
import { until, watch } from '../test-support/query-helpers.js';

interface Task {
  title: string;
  done: boolean;
}
const tasks = defineCollection<Task>('tasks');
const cleanup: (() => void)[] = [];

afterEach(() => {
  for (const close of cleanup.splice(0)) close();
});

async function openTabs() {
  const store = new MemoryReplicaStore(); // the tabs' shared local database
  const storage = new MemoryStorage();
  const clientId = crypto.randomUUID();
  const channel = `chainsync-test-${crypto.randomUUID()}`;
  const tab = async () => {
    const engine = await Replica.open({ store, storage, clientId });
    const replica = shareChangesAcrossTabs(engine, channel);
    const client = new QueryClient();
    const binding = bindQueryClient(client, replica);
    cleanup.push(() => {
      binding.dispose();
      replica.close();
    });
    return { engine, replica, client, binding, queries: replicaQueries(replica) };
  };
  return { tabs: [await tab(), await tab()] as const, storage, clientId, channel };
}

describe('chainsync/query: other tabs', () => {
  it("a write in one tab updates the other tab's queries, and only the affected ones", async () => {
    const { tabs } = await openTabs();
    const [one, two] = tabs;
    await one.replica.change([
      { type: 'create', collection: 'tasks', id: 'a', properties: { title: 'A', done: false } },
      { type: 'create', collection: 'tasks', id: 'b', properties: { title: 'B', done: false } },
    ]);
    let bCalls = 0;
    const bOptions = two.queries.object(tasks, 'b');
    const a = watch(two.client, two.queries.object(tasks, 'a'));
    const b = watch(two.client, { ...bOptions, queryFn: () => (bCalls++, bOptions.queryFn()) });
    const all = watch(two.client, two.queries.collection(tasks));
    await until(a.observer, (r) => r.isSuccess);
    await until(b.observer, (r) => r.isSuccess);
    await until(all.observer, (r) => r.isSuccess);

    const update = new MutationObserver(
      one.client,
      replicaMutations(one.replica, { binding: one.binding }).update(tasks),
    );
    await update.mutate({ id: 'a', set: { done: true } });

    const seen = await until(a.observer, (r) => r.data?.done === true);
    expect(seen.data).toEqual({ title: 'A', done: true });
    await until(all.observer, (r) => r.data?.[0]?.data.done === true);
    await two.binding.settled();
    expect(all.data()).toEqual([
      { id: 'a', data: { title: 'A', done: true } },
      { id: 'b', data: { title: 'B', done: false } },
    ]);
    expect(bCalls).toBe(1); // B was read once, when first observed
  });

  it("a sync in one tab (the leader) updates the other tab's queries with the pulled data", async () => {
    const { tabs, storage, clientId } = await openTabs();
    const [leader, follower] = tabs;
    const remote = await Replica.open({ store: new MemoryReplicaStore(), storage, clientId });
    const x = watch(follower.client, follower.queries.object(tasks, 'x'));
    await until(x.observer, (r) => r.isSuccess && r.data === null);

    await remote.create('tasks', 'x', { title: 'from another device', done: false });
    await remote.sync();
    await leader.replica.sync();
    expect((await until(x.observer, (r) => r.data !== null)).data).toEqual({
      title: 'from another device',
      done: false,
    });
  });

  it('ignores malformed messages on the channel and stops after close()', async () => {
    const { tabs, channel } = await openTabs();
    const [one, two] = tabs;
    const events: unknown[] = [];
    two.replica.subscribe((e) => events.push(e));
    const stranger = new BroadcastChannel(channel);
    cleanup.push(() => stranger.close());
    stranger.postMessage({ chainsync: 'change', objects: [{ collection: 1 }] });
    stranger.postMessage('hello');
    stranger.postMessage({ chainsync: 'change', objects: [{ collection: 'tasks', id: 'q' }] });
    await new Promise<void>((resolve) => {
      const stop = two.replica.subscribe(() => (stop(), resolve()));
    });
    expect(events).toEqual([{ source: 'remote-tab', objects: [{ collection: 'tasks', id: 'q' }] }]);

    (two.replica as TabSharedReplica).close();
    await one.replica.change([{ type: 'create', collection: 'tasks', id: 'z', properties: {} }]);
    // A channel opened after tab two's hears this only after everything posted before it.
    const probe = new BroadcastChannel(channel);
    cleanup.push(() => probe.close());
    const heard = new Promise((resolve) => probe.addEventListener('message', resolve, { once: true }));
    stranger.postMessage({ chainsync: 'change', objects: 'all' });
    await heard;
    expect(events).toHaveLength(1);
    expect(() => shareChangesAcrossTabs(one.engine, '')).toThrow(InvalidArgumentError);
    expect(() => shareChangesAcrossTabs(one.engine, {} as never)).toThrow(/BroadcastChannel/);
  });
});
