/**
 * The change feed across two documents in real Chromium: tab two's BroadcastChannel belongs to a
 * separate same-origin document (an iframe), so each change crosses documents the way it crosses
 * tabs. (The replicas share one local store here, as tabs share one IndexedDB database.)
 */
import { QueryClient } from '@tanstack/query-core';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from '../sync/replica.js';
import { bindQueryClient } from './binding.js';
import { defineCollection } from './collection.js';
import { replicaQueries } from './options.js';
import { shareChangesAcrossTabs } from './tab-feed.js';
import { until, watch } from '../test-support/query-helpers.js';

const tasks = defineCollection<{ title: string }>('tasks');
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const close of cleanup.splice(0)) close();
});

describe('chainsync/query: tabs in a real browser', () => {
  it('a write in one document updates a query in another document', async () => {
    const frame = document.createElement('iframe');
    document.body.append(frame);
    cleanup.push(() => frame.remove());
    const otherWindow = frame.contentWindow as (Window & typeof globalThis) | null;
    expect(otherWindow).not.toBeNull();
    const name = `chainsync-frames-${crypto.randomUUID()}`;
    const otherChannel = new otherWindow!.BroadcastChannel(name);
    expect(otherChannel).not.toBeInstanceOf(BroadcastChannel); // really the other document's

    const store = new MemoryReplicaStore();
    const one = shareChangesAcrossTabs(await Replica.open({ store }), name);
    const two = shareChangesAcrossTabs(await Replica.open({ store }), otherChannel);
    cleanup.push(() => (one.close(), two.close(), otherChannel.close()));
    const client = new QueryClient();
    const binding = bindQueryClient(client, two);
    cleanup.push(() => binding.dispose());
    const list = watch(client, replicaQueries(two).collection(tasks));
    await until(list.observer, (r) => r.isSuccess && r.data.length === 0);

    await one.change([
      { type: 'create', collection: 'tasks', id: 'x', properties: { title: 'from tab one' } },
    ]);
    const seen = await until(list.observer, (r) => (r.data?.length ?? 0) > 0);
    expect(seen.data).toEqual([{ id: 'x', data: { title: 'from tab one' } }]);
  });
});
