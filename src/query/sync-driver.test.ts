/**
 * TanStack's real onlineManager and focusManager driving a real replica's sync: coming online
 * syncs exactly once, offline pauses the loop, focus and local writes are debounced into one sync,
 * and requests during a sync fold into one follow-up. Timers are Vitest's fake timers, so the
 * counts are exact and nothing depends on the machine's speed.
 */
import { focusManager, onlineManager, QueryClient } from '@tanstack/query-core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../contracts/errors.js';
import { driveSync, type SyncDriver } from './sync-driver.js';
import { bindQueryClient } from './binding.js';
import { defineCollection } from './collection.js';
import { replicaQueries } from './options.js';
import { countingReplica, openReplicas, until, watch } from '../test-support/query-helpers.js';

let driver: SyncDriver | null = null;

async function start(options: Parameters<typeof driveSync>[1] = {}) {
  const { replicas } = await openReplicas(2);
  const replica = countingReplica(replicas[0]!);
  driver = driveSync(replica, { intervalMs: false, ...options });
  await driver.settled();
  return { replica, engine: replicas[0]!, other: replicas[1]!, driver };
}

beforeEach(() => {
  onlineManager.setOnline(true);
  focusManager.setFocused(true);
});

afterEach(() => {
  driver?.stop();
  driver = null;
  vi.useRealTimers();
  onlineManager.setOnline(true);
  focusManager.setFocused(undefined);
});

describe('chainsync/query: onlineManager and focusManager drive sync', () => {
  it('syncs once on start; offline then online triggers exactly one sync, which pushes what was written offline', async () => {
    const { replica, engine, other, driver } = await start({ syncOnLocalChange: true, debounceMs: 0 });
    expect(replica.counts.sync).toBe(1);

    onlineManager.setOnline(false);
    await replica.change([
      { type: 'create', collection: 'tasks', id: 'a', properties: { title: 'offline' } },
    ]);
    focusManager.setFocused(false);
    focusManager.setFocused(true);
    await driver.syncNow();
    await driver.settled();
    expect(replica.counts.sync).toBe(1); // nothing syncs while offline
    expect(await engine.pendingCount()).toBe(2);

    onlineManager.setOnline(true);
    await driver.settled();
    expect(replica.counts.sync).toBe(2);
    expect(await engine.pendingCount()).toBe(0);
    await other.sync();
    expect(await other.get('tasks', 'a')).toEqual({ title: 'offline' });
  });

  it('going offline pauses the periodic loop; coming online resumes it', async () => {
    vi.useFakeTimers();
    const { replica, driver } = await start({ intervalMs: 1_000 });
    expect(replica.counts.sync).toBe(1);
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await driver.settled();
    }
    expect(replica.counts.sync).toBe(4);

    onlineManager.setOnline(false);
    await vi.advanceTimersByTimeAsync(10_000);
    await driver.settled();
    expect(replica.counts.sync).toBe(4);

    onlineManager.setOnline(true);
    await driver.settled();
    expect(replica.counts.sync).toBe(5); // the reconnect sync
    await vi.advanceTimersByTimeAsync(1_000);
    await driver.settled();
    expect(replica.counts.sync).toBe(6); // the loop runs again
  });

  it('focus triggers one debounced sync, however many focus events arrive', async () => {
    vi.useFakeTimers();
    const { replica, driver } = await start({ debounceMs: 500 });
    expect(replica.counts.sync).toBe(1);
    for (let i = 0; i < 10; i++) {
      focusManager.setFocused(false); // blur: no sync
      focusManager.setFocused(true);
    }
    await vi.advanceTimersByTimeAsync(499);
    expect(replica.counts.sync).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await driver.settled();
    expect(replica.counts.sync).toBe(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(replica.counts.sync).toBe(2);
  });

  it('local writes ask for a sync, debounced; syncOnLocalChange: false turns that off', async () => {
    vi.useFakeTimers();
    const { replica, engine, driver } = await start({ debounceMs: 200 });
    for (let i = 0; i < 5; i++) {
      await replica.change([{ type: 'create', collection: 'tasks', id: `t${i}`, properties: {} }]);
    }
    await vi.advanceTimersByTimeAsync(200);
    await driver.settled();
    // The start's sync, the first write's (at once: no write before it), one the other four share.
    expect(replica.counts.sync).toBe(3);
    expect(await engine.pendingCount()).toBe(0);
    driver.stop();

    const quiet = await start({ debounceMs: 200, syncOnLocalChange: false });
    await quiet.replica.change([{ type: 'create', collection: 'tasks', id: 'x', properties: {} }]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(quiet.replica.counts.sync).toBe(1);
  });

  it('requests during a sync fold into one follow-up sync', async () => {
    const { replica, driver } = await start();
    await Promise.all([driver.syncNow(), driver.syncNow(), driver.syncNow(), driver.syncNow()]);
    expect(replica.counts.sync).toBe(3); // the first, then one follow-up for the other three
  });

  it('a failed sync is reported and the next trigger syncs again; stop() ends the driving', async () => {
    const errors: unknown[] = [];
    const { replica, driver } = await start({ onError: (e) => errors.push(e) });
    replica.failNextSync(new Error('network down'));
    await driver.syncNow();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/network down/);
    await driver.syncNow();
    expect(replica.counts.sync).toBe(3);
    expect(errors).toHaveLength(1);

    driver.stop();
    driver.stop();
    onlineManager.setOnline(false);
    onlineManager.setOnline(true);
    await driver.syncNow();
    expect(replica.counts.sync).toBe(3);
  });

  it('coming online syncs, and the pulled change reaches a bound observer', async () => {
    const { replica, other, driver } = await start();
    const client = new QueryClient();
    const binding = bindQueryClient(client, replica);
    const note = watch(
      client,
      replicaQueries(replica).object(defineCollection<{ text: string }>('notes'), 'n'),
    );
    await until(note.observer, (r) => r.isSuccess && r.data === null);

    onlineManager.setOnline(false);
    await other.create('notes', 'n', { text: 'written elsewhere' });
    await other.sync();
    await driver.settled();
    expect(note.data()).toBeNull(); // offline: nothing pulled yet

    onlineManager.setOnline(true);
    await driver.settled();
    await binding.settled();
    expect(note.data()).toEqual({ text: 'written elsewhere' });
    expect(replica.counts.sync).toBe(2); // the start sync and the reconnect sync
    binding.dispose();
  });

  it('rejects bad options with typed errors', async () => {
    const { replicas } = await openReplicas(1);
    expect(() => driveSync(replicas[0]!, { intervalMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => driveSync(replicas[0]!, { debounceMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => driveSync(replicas[0]!, { onlineManager: {} as never })).toThrow(/subscribe/);
  });
});
