import { deleteDB } from 'idb';
import { afterEach, describe, expect, it } from 'vitest';
import type { KvChange } from '../contracts/cas-kv.js';
import { bytesEqual } from '../core/bytes.js';
import { contentIdOf } from '../core/content-id.js';
import { casIncrementRace, concurrently, rejectsWith } from '../testing/conformance/support.js';
import { defaultWorker, openStore, type ChainsyncStore } from './index.js';

// Several workers on one database stand in for several tabs: each has its own IndexedDB
// connection, pid lock and BroadcastChannel, exactly as a tab's worker would.

const b = (text: string) => new TextEncoder().encode(text);
const s = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

interface Tab {
  store: ChainsyncStore;
  worker: Worker;
  /** Kills the worker behind the client's back (not through the patched terminate). */
  kill(): void;
}

const opened: ChainsyncStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

async function tab(name: string): Promise<Tab> {
  let worker: Worker | undefined;
  const store = await openStore(name, { worker: () => (worker = defaultWorker()) });
  opened.push(store);
  const w = worker!;
  return { store, worker: w, kill: () => Worker.prototype.terminate.call(w) };
}

const tabs = (name: string, n: number) => Promise.all(Array.from({ length: n }, () => tab(name)));

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('many tabs on one store', () => {
  it('4 workers racing CAS on one CasKv key: no version wins twice, no update lost', async () => {
    const name = `race-kv-${crypto.randomUUID()}`;
    const all = await tabs(name, 4);
    await all[0]!.store.kv.put('counter', b('0'));
    const rounds = 25;
    const winners = await casIncrementRace(
      all.map((t) => t.store.kv),
      'counter',
      rounds,
    );
    expect(winners.size).toBe(4 * rounds);
    for (const t of all) expect(s((await t.store.kv.get('counter'))?.value)).toBe(String(4 * rounds));
  });

  it('4 workers racing compareAndSet on one Consensus key: gapless, no seqno twice, winners kept', async () => {
    const name = `race-consensus-${crypto.randomUUID()}`;
    const all = await tabs(name, 4);
    const rounds = 25;
    const committed = new Map<bigint, string>();
    await concurrently(all.length, async (i) => {
      const c = all[i]!.store.consensus;
      for (let done = 0; done < rounds;) {
        const head = await c.head('log');
        const next = head ? head.seqno + 1n : 0n;
        const payload = `w${i}-${done}`;
        if (
          (await c.compareAndSet('log', head?.seqno ?? null, { seqno: next, data: b(payload) })) !==
          'Committed'
        ) {
          continue;
        }
        expect(committed.has(next), `seqno ${next} committed twice`).toBe(false);
        committed.set(next, payload);
        done++;
      }
    });
    const log = await all[3]!.store.consensus.scan('log', 0n);
    expect(log.map((v) => v.seqno)).toEqual(Array.from({ length: 4 * rounds }, (_, i) => BigInt(i)));
    expect(log.map((v) => s(v.data))).toEqual(log.map((v) => committed.get(v.seqno)));
  });

  it('watch in one worker sees writes made in another (BroadcastChannel change feed)', async () => {
    const name = `feed-${crypto.randomUUID()}`;
    const [a, c] = await tabs(name, 2);
    await c!.store.kv.put('p/0', b('before'));
    const seen: KvChange[] = [];
    const stop = await a!.store.kv.watch('p/', (change) => seen.push(change));
    expect(seen.map((x) => x.key)).toEqual(['p/0']);
    const v1 = await c!.store.kv.put('p/1', b('from the other tab'));
    await c!.store.kv.put('q/1', b('not watched'));
    await c!.store.kv.batch([
      { op: 'put', key: 'p/2', value: b('batched') },
      { op: 'delete', key: 'p/0' },
    ]);
    // Other tabs' writes arrive coalesced (keys announced, committed state re-read): each key's
    // changes in commit order, ending at the committed state, nothing outside the prefix.
    const last = () => new Map(seen.map((c) => [c.key, c]));
    await waitFor(
      () => last().get('p/0')?.type === 'delete' && last().has('p/2'),
      'the other worker’s writes',
    );
    expect([...last().keys()].sort()).toEqual(['p/0', 'p/1', 'p/2']);
    expect(last().get('p/1')).toMatchObject({ type: 'put', version: v1 });
    const p2 = last().get('p/2');
    expect(p2?.type === 'put' && s(p2.value)).toBe('batched');
    expect(seen.filter((c) => c.key === 'p/0').map((c) => c.type)).toEqual(['put', 'delete']);
    expect(seen.filter((c) => c.key === 'p/1')).toHaveLength(1);
    stop();
  });

  it('elects exactly one leader, and another takes over when the leader’s worker dies', async () => {
    const name = `leader-${crypto.randomUUID()}`;
    const all = await tabs(name, 3);
    const won = all.map((t, i) => t.store.leadership.campaign().then(() => i));
    const first = await Promise.race(won);
    const leaders = async (among: Tab[]) =>
      (await Promise.all(among.map((t) => t.store.leadership.isLeader()))).filter(Boolean).length;
    expect(await leaders(all)).toBe(1);
    expect(await all[first]!.store.leadership.isLeader()).toBe(true);

    all[first]!.kill();
    const rest = all.filter((_, i) => i !== first);
    const second = await Promise.race(won.filter((_, i) => i !== first));
    expect(second).not.toBe(first);
    expect(await all[second]!.store.leadership.isLeader()).toBe(true);
    expect(await leaders(rest)).toBe(1);
  });

  it('leadership moves on resign', async () => {
    const name = `resign-${crypto.randomUUID()}`;
    const [a, c] = await tabs(name, 2);
    await a!.store.leadership.campaign();
    const cWins = c!.store.leadership.campaign();
    expect(await c!.store.leadership.isLeader()).toBe(false);
    await a!.store.leadership.resign();
    await cWins;
    expect(await c!.store.leadership.isLeader()).toBe(true);
    expect(await a!.store.leadership.isLeader()).toBe(false);
  });
});

describe('the worker boundary', () => {
  it('a call pending when the worker is terminated rejects with WORKER_TERMINATED, as do later ones', async () => {
    const t = await tab(`term-${crypto.randomUUID()}`);
    const ops = Array.from({ length: 5000 }, (_, i) => ({ op: 'put' as const, key: `k${i}`, value: b('v') }));
    const pending = t.store.kv.batch(ops);
    t.worker.terminate();
    await rejectsWith(pending, 'WORKER_TERMINATED');
    await rejectsWith(t.store.kv.get('k1'), 'WORKER_TERMINATED');
  });

  it('a worker that dies unseen (no terminate through the client) is detected by its pid lock', async () => {
    const t = await tab(`death-${crypto.randomUUID()}`);
    const other = await tab(t.store.name);
    const ops = Array.from({ length: 5000 }, (_, i) => ({ op: 'put' as const, key: `k${i}`, value: b('v') }));
    const pending = t.store.kv.batch(ops);
    t.kill();
    await rejectsWith(pending, 'WORKER_TERMINATED');
    await rejectsWith(t.store.consensus.listKeys(), 'WORKER_TERMINATED');
    // The database is intact for the others: the killed batch committed entirely or not at all.
    const keys = await other.store.kv.keys();
    expect([0, 5000]).toContain(keys.length);
  });

  it('a worker that fails to start rejects openStore with WORKER_TERMINATED', async () => {
    const broken = () =>
      new Worker(URL.createObjectURL(new Blob(['throw new Error("boom")'], { type: 'text/javascript' })), {
        type: 'module',
      });
    await rejectsWith(openStore(`broken-${crypto.randomUUID()}`, { worker: broken }), 'WORKER_TERMINATED');
    const throwing = () => {
      throw new TypeError('no workers here');
    };
    await rejectsWith(
      openStore(`throwing-${crypto.randomUUID()}`, { worker: throwing }),
      'WORKER_TERMINATED',
    );
  });

  it('another tab’s version change (deleting the database) is not blocked, and the store reopens', async () => {
    const t = await tab(`vc-${crypto.randomUUID()}`);
    await t.store.kv.put('k', b('v'));
    let blocked = false;
    await deleteDB(`chainsync:${t.store.name}`, { blocked: () => (blocked = true) });
    expect(blocked).toBe(false);
    expect(await t.store.kv.get('k')).toBeNull();
    await t.store.kv.put('k', b('again'));
    expect(s((await t.store.kv.get('k'))?.value)).toBe('again');
  });

  it('arguments that cannot cross to the worker are INVALID_ARGUMENT', async () => {
    const t = await tab(`clone-${crypto.randomUUID()}`);
    await rejectsWith(t.store.kv.put('k', (() => 1) as never), 'INVALID_ARGUMENT');
    expect(await t.store.kv.keys()).toEqual([]);
  });

  it('close() makes later calls fail with STORE_CLOSED and releases the pid lock', async () => {
    const t = await tab(`close-${crypto.randomUUID()}`);
    const pid = t.store.pid;
    const held = async () => ((await navigator.locks.query()).held ?? []).some((l) => l.name?.endsWith(pid));
    expect(await held()).toBe(true);
    await t.store.close();
    await rejectsWith(t.store.kv.get('k'), 'STORE_CLOSED');
    await waitFor(async () => !(await held()), 'the pid lock to be released');
  });
});

describe('blob leases across tabs', () => {
  it('a reader streams a multi-megabyte blob in chunks across the boundary, byte for byte', async () => {
    const t = await tab(`stream-${crypto.randomUUID()}`);
    const data = new Uint8Array(2.5 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const id = await contentIdOf(data);
    const lease = { id: 'l', pid: t.store.pid };
    await t.store.blobs.store(id, data, lease);
    const reader = await t.store.blobs.getReader(id, lease);
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader.chunks()) chunks.push(chunk);
    expect(chunks.length).toBe(3);
    const joined = new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    expect(joined.length).toBe(data.length);
    expect(bytesEqual(joined, data)).toBe(true);
    await reader.close();
  });

  it('the collector drops the leases of a pid whose lock is gone and deletes what nothing holds', async () => {
    const name = `gc-${crypto.randomUUID()}`;
    const [holder, collector] = await tabs(name, 2);
    const data = b('held by a tab that will close');
    const id = await contentIdOf(data);
    const kept = b('held by a live tab');
    const keptId = await contentIdOf(kept);
    await holder!.store.blobs.store(id, data, { id: 'l1', pid: holder!.store.pid });
    await collector!.store.blobs.store(keptId, kept, { id: 'l2', pid: collector!.store.pid });

    expect(await collector!.store.blobs.collectGarbage({ pidLocks: true })).toEqual({
      terminatedPids: [],
      deleted: [],
    });
    holder!.kill();
    await waitFor(
      async () =>
        !((await navigator.locks.query()).held ?? []).some((l) => l.name?.endsWith(holder!.store.pid)),
      'the dead worker’s pid lock to go',
    );
    expect(await collector!.store.blobs.collectGarbage({ pidLocks: true })).toEqual({
      terminatedPids: [holder!.store.pid],
      deleted: [id],
    });
    expect(s(await collector!.store.blobs.getData(keptId, { id: 'l2', pid: collector!.store.pid }))).toBe(
      'held by a live tab',
    );
  });

  it('an open reader holds content for every tab’s collector until it is closed or its tab dies', async () => {
    const name = `reader-${crypto.randomUUID()}`;
    const [reading, collector] = await tabs(name, 2);
    const data = b('read while another tab collects');
    const id = await contentIdOf(data);
    const lease = { id: 'l', pid: 'some-pid' };
    await reading!.store.blobs.store(id, data, lease);
    const reader = await reading!.store.blobs.getReader(id, lease);
    await reading!.store.blobs.adviseLeaseDropped(lease, id);
    expect((await collector!.store.blobs.collectGarbage({ pidLocks: true })).deleted).toEqual([]);
    expect(s(new Uint8Array(await (await reader.blob()).arrayBuffer()))).toBe(
      'read while another tab collects',
    );
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader.chunks()) chunks.push(chunk);
    expect(s(chunks[0])).toBe('read while another tab collects');
    reading!.kill();
    await waitFor(
      async () => (await collector!.store.blobs.collectGarbage({ pidLocks: true })).deleted.includes(id),
      'the dead tab’s reader to stop holding the content',
    );
    await rejectsWith(collector!.store.blobs.getData(id, lease), 'CONTENT_NOT_FOUND');
  });
});
