import type { BlobRef, ReplicaChange, ReplicaStatus, SyncProgress } from '../contracts/replica.js';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { AlreadyExistsError } from '../contracts/errors.js';
import { contentIdOf } from '../core/content-id.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { expectSameBytes } from '../test-support/same-bytes.js';
import { defaultWorker } from './open-store.js';
import { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';

// Workers stand in for tabs (same store name) and for devices (different store names); they sync
// through the reference server the globalSetup started on 127.0.0.1.

const serverUrl = inject('replicaServerUrl');

interface Tab {
  replica: ReplicaClient;
  /** Kills the worker behind the client's back: a crash or a closed tab. */
  kill(): void;
}

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

async function tab(options: Partial<OpenReplicaOptions> & { name: string; clientId: string }): Promise<Tab> {
  let worker: Worker | undefined;
  const replica = await openReplica({
    remote: { kind: 'http', url: serverUrl, prefix: `set-${options.clientId}` },
    schedule: { intervalMs: 0, debounceMs: 20 },
    ...options,
    worker: () => (worker = defaultWorker()),
  });
  opened.push(replica);
  const w = worker!;
  return { replica, kill: () => Worker.prototype.terminate.call(w) };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ids = (objects: { id: string }[]) => objects.map((o) => o.id);

describe('openReplica in a browser, syncing through the reference server', () => {
  it('two devices (separate databases) converge, and subscribers see pulled changes', async () => {
    const clientId = crypto.randomUUID();
    const a = (await tab({ name: `dev-a-${clientId}`, clientId })).replica;
    const b = (await tab({ name: `dev-b-${clientId}`, clientId })).replica;
    const seenByB: ReplicaChange[] = [];
    b.subscribe((c) => seenByB.push(c));
    await a.create('todos', 'from-a', { title: 'A', done: false });
    await b.create('todos', 'from-b', { title: 'B' });
    await a.sync();
    await b.sync();
    await a.sync();
    expect(ids(await a.list('todos'))).toEqual(['from-a', 'from-b']);
    expect(await b.list('todos')).toEqual(await a.list('todos'));
    expect(seenByB.some((c) => c.source === 'local')).toBe(true);
    // Pulled as a version (naming the object) or, if A's snapshot came first, as a bootstrap ('all').
    const pulledFromA = (c: ReplicaChange) =>
      c.source === 'sync' && (c.objects === 'all' || c.objects.some((o) => o.id === 'from-a'));
    expect(seenByB.some(pulledFromA)).toBe(true);
    await b.update('todos', 'from-a', { done: true });
    await b.sync();
    await a.sync();
    expect(await a.get('todos', 'from-a')).toEqual({ title: 'A', done: true });
  });

  it('a conflict this device won reaches its tabs as `overridden`, through the worker and across tabs', async () => {
    const clientId = crypto.randomUUID();
    const [nameA, nameB] = [`won-a-${clientId}`, `won-b-${clientId}`];
    // Syncs only when asked, so the order of the pushes is the test's (no live watch either).
    const manual = { syncOnStart: false, intervalMs: 0, live: false };
    const a = (await tab({ name: nameA, clientId, schedule: manual })).replica;
    await a.create('todos', 't', { title: 'first' });
    await a.sync();
    await a.close();
    const b = (await tab({ name: nameB, clientId, schedule: manual })).replica;
    await b.sync();
    await b.close();

    // Offline edits of the same property: A's first, B's later (a later timestamp wins).
    const offlineA = (await tab({ name: nameA, clientId, remote: undefined })).replica;
    await offlineA.update('todos', 't', { title: 'from A' });
    const [opA] = (await offlineA.inspect()).pending.map((p) => p.op);
    await offlineA.close();
    await waitFor(() => opA?.type === 'update' && Date.now() > opA.timestamp, 'the clock to pass A’s edit');
    const offlineB = (await tab({ name: nameB, clientId, remote: undefined })).replica;
    await offlineB.update('todos', 't', { title: 'from B' });
    const [opB] = (await offlineB.inspect()).pending.map((p) => p.op);
    await offlineB.close();
    expect(opA?.type === 'update' && opB?.type === 'update' && opB.timestamp > opA.timestamp).toBe(true);

    // A's edit reaches the chain first; B, in two tabs, rebases on it and wins.
    const onlineA = (await tab({ name: nameA, clientId, schedule: manual })).replica;
    await onlineA.sync();
    const tabs = [
      (await tab({ name: nameB, clientId, schedule: manual })).replica,
      (await tab({ name: nameB, clientId, schedule: manual })).replica,
    ];
    const heard: ReplicaChange[][] = tabs.map(() => []);
    tabs.forEach((t, i) => t.subscribe((c) => heard[i]?.push(c)));
    await waitFor(
      async () => (await tabs[0]!.status()).leader || (await tabs[1]!.status()).leader,
      'a leader',
    );
    const leader = (await tabs[0]!.status()).leader ? 0 : 1;
    await tabs[leader]!.sync();
    const won = (list: ReplicaChange[] | undefined) => (list ?? []).filter((c) => c.overridden.length > 0);
    await waitFor(() => won(heard[0]).length > 0 && won(heard[1]).length > 0, 'both tabs to hear the win');
    for (const [i, list] of heard.entries()) {
      // The syncing tab hears it from its worker; the other tab through the BroadcastChannel.
      expect(won(list)).toEqual([
        { type: 'change', source: 'sync', objects: [], dropped: [], overridden: [opA] },
      ]);
      expect(list.every((c) => c.dropped.length === 0)).toBe(true);
      expect(await tabs[i]!.get('todos', 't')).toEqual({ title: 'from B' });
    }
    await onlineA.sync();
    expect(await onlineA.get('todos', 't')).toEqual({ title: 'from B' });
  });

  it('syncs on its own: after a local change (debounced) and on the interval', async () => {
    const clientId = crypto.randomUUID();
    const a = (await tab({ name: `auto-a-${clientId}`, clientId })).replica;
    const b = (await tab({ name: `auto-b-${clientId}`, clientId, schedule: { intervalMs: 200 } })).replica;
    const pushed: string[] = [];
    a.onStatus((s) => pushed.push(...s.lastPushed));
    await a.create('notes', 'n1', { text: 'pushed without sync()' });
    await waitFor(async () => (await b.get('notes', 'n1')) !== null, 'the note to reach the other device');
    expect(await b.get('notes', 'n1')).toEqual({ text: 'pushed without sync()' });
    // The push is visible before the writer's sync ends (it may still upload a snapshot).
    let status: ReplicaStatus | null = null;
    await waitFor(async () => {
      status = await a.status();
      return !status.syncing && status.pending === 0;
    }, 'the writer’s sync to end');
    expect(status).toMatchObject({ pending: 0, leader: true, syncing: false, lastError: null });
    expect(status!.lastSyncAt).not.toBeNull();
    // The status named the version the writer pushed: the one the other device now stands on.
    const { state } = await b.inspect();
    expect([...new Set(pushed)]).toEqual([state.baseVersionId]);
  });

  it('a reload keeps the data and the pending queue; a failing remote shows in the status', async () => {
    const clientId = crypto.randomUUID();
    const name = `reload-${clientId}`;
    // Port 9 on loopback refuses connections: every sync fails.
    const down = { kind: 'http', url: 'http://127.0.0.1:9/', prefix: 'x', timeoutMs: 2000 } as const;
    const first = await tab({ name, clientId, remote: down, schedule: { backoffBaseMs: 60_000 } });
    const statuses: ReplicaStatus[] = [];
    first.replica.onStatus((s) => statuses.push(s));
    await first.replica.change([
      { type: 'create', collection: 'c', id: 'one', properties: { n: 1 } },
      { type: 'create', collection: 'c', id: 'two', properties: { n: 2 } },
    ]);
    await waitFor(() => statuses.some((s) => s.lastError !== null), 'the failed sync to show');
    const failed = statuses.find((s) => s.lastError !== null)!;
    expect(failed.lastError?.code).toMatch(/^REMOTE_|UNSUPPORTED_SERVER/);
    expect((await first.replica.status()).pending).toBe(4); // 2 creates + 2 property updates
    first.kill();

    const second = await tab({ name, clientId, remote: down, schedule: { backoffBaseMs: 60_000 } });
    expect(await second.replica.list('c')).toEqual([
      { collection: 'c', id: 'one', properties: { n: 1 } },
      { collection: 'c', id: 'two', properties: { n: 2 } },
    ]);
    expect((await second.replica.status()).pending).toBe(4);
    await second.replica.close();

    const third = (await tab({ name, clientId })).replica;
    await third.sync();
    expect((await third.status()).pending).toBe(0);
    const other = (await tab({ name: `reload-other-${clientId}`, clientId })).replica;
    await other.sync();
    expect(ids(await other.list('c'))).toEqual(['one', 'two']);
  });

  it('of two tabs on one database only the leader syncs; a write in one appears in the other', async () => {
    const clientId = crypto.randomUUID();
    const name = `tabs-${clientId}`;
    const t1 = (await tab({ name, clientId })).replica;
    const t2 = (await tab({ name, clientId })).replica;
    await waitFor(async () => (await t1.status()).leader || (await t2.status()).leader, 'a leader');
    const [s1, s2] = [await t1.status(), await t2.status()];
    expect([s1.leader, s2.leader].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = s1.leader ? [t1, t2] : [t2, t1];
    const heard: ReplicaChange[] = [];
    leader.subscribe((c) => heard.push(c));
    const watched: string[][] = [];
    leader.watch('todos', (objects) => watched.push(ids(objects)));
    const watchedObject: unknown[] = [];
    leader.watchObject('todos', 'written-in-follower', (p) => watchedObject.push(p));
    await waitFor(() => watched.length >= 1 && watchedObject.length >= 1, 'the watches’ first call');
    await follower.create('todos', 'written-in-follower', { v: 1 });
    await waitFor(() => heard.some((c) => c.source === 'tab'), 'the other tab’s change');
    expect(await leader.get('todos', 'written-in-follower')).toEqual({ v: 1 });
    await waitFor(() => watched.some((w) => w.includes('written-in-follower')), 'watch to fire');
    await waitFor(() => watchedObject.length >= 2, 'watchObject to fire');
    expect(watchedObject[0]).toBeNull();
    expect(watchedObject.at(-1)).toEqual({ v: 1 });
    // The follower's sync() is served by the leader.
    expect(await follower.sync()).toBeNull();
    expect((await follower.status()).pending).toBe(0);
    const device = (await tab({ name: `tabs-device-${clientId}`, clientId })).replica;
    await device.sync();
    expect(await device.get('todos', 'written-in-follower')).toEqual({ v: 1 });
    // Leadership moves when the leader goes.
    await leader.close();
    await waitFor(async () => (await follower.status()).leader, 'the follower to lead');
    expect(await follower.sync()).not.toBeNull();
  });

  it('reports progress while a device catches up a long chain', async () => {
    const clientId = crypto.randomUUID();
    // The reader has a base first, so it catches up by pulling versions (a fresh replica would
    // start from a snapshot instead).
    const writer = (await tab({ name: `prog-w-${clientId}`, clientId, maxOperationsPerVersion: 1 })).replica;
    await writer.create('c', 'first');
    await writer.sync();
    // Not live: the test's sync() is the one that catches up.
    const reader = (
      await tab({ name: `prog-r-${clientId}`, clientId, pullPageSize: 5, schedule: { live: false } })
    ).replica;
    await waitFor(async () => (await reader.get('c', 'first')) !== null, 'the reader’s first sync');
    await waitFor(async () => !(await reader.status()).syncing, 'the reader’s first sync to end');
    const progress: SyncProgress[] = [];
    reader.onProgress((p) => progress.push(p));
    await writer.change(
      Array.from({ length: 24 }, (_, i) => ({ type: 'create' as const, collection: 'c', id: `o${i}` })),
    );
    await writer.sync();
    expect((await writer.status()).pending).toBe(0);
    const result = await reader.sync();
    expect(result?.pulledVersions).toBe(24);
    // Progress events and the call's answer come back on different message ports, so the last
    // events may land after the answer: wait for them rather than assume an order.
    const pulls = () => progress.filter((p) => p.phase === 'pull');
    await waitFor(() => pulls().at(-1)?.done === 24, 'the progress of the last page');
    // The total is known from the start (the chain's heights), the count never goes back, and it
    // ends at done === total; at most one event per page of 5, plus the phase's first.
    expect(pulls()[0]).toMatchObject({ done: 0, total: 24 });
    expect(pulls().at(-1)).toMatchObject({ done: 24, total: 24 });
    const counts = pulls().map((p) => p.done);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    expect(counts.length).toBeLessThanOrEqual(1 + 5);
    expect((await reader.list('c')).length).toBe(25);
    // A fresh device starts from the writer's snapshot, then pulls the versions after it.
    const fresh = (
      await tab({ name: `prog-f-${clientId}`, clientId, pullPageSize: 5, schedule: { syncOnStart: false } })
    ).replica;
    const freshProgress: SyncProgress[] = [];
    fresh.onProgress((p) => freshProgress.push(p));
    // The fresh tab may not have won its election yet (its lock request is granted asynchronously):
    // its sync() then waits as a follower's would, runs once it leads, and still returns the result.
    const freshResult = await fresh.sync();
    expect(freshResult?.reset).toBe('bootstrap');
    await waitFor(() => freshProgress.some((p) => p.phase === 'pull'), 'the fresh device’s pull progress');
    expect(freshProgress[0]).toMatchObject({ phase: 'bootstrap', done: 0, total: 1 });
    expect(freshProgress.some((p) => p.phase === 'bootstrap' && p.done === 1 && p.bytes > 0)).toBe(true);
    const freshPulls = () => freshProgress.filter((p) => p.phase === 'pull');
    await waitFor(
      () => freshPulls().at(-1)?.done === freshResult?.pulledVersions,
      'the fresh device’s last pull event',
    );
    expect(freshPulls().at(-1)?.total).toBe(freshResult?.pulledVersions);
    expect(ids(await fresh.list('c'))).toEqual(ids(await reader.list('c')));
  });

  it('a sync asked for before the tab won the election returns that sync’s result once it leads', async () => {
    const clientId = crypto.randomUUID();
    const writer = (await tab({ name: `late-w-${clientId}`, clientId })).replica;
    await writer.create('c', 'x', { n: 1 });
    await writer.sync();
    // The test holds the store's leader lock, so the fresh tab opens as a follower with no leader:
    // the state a loaded machine leaves a tab in when its sync() comes before its election.
    const name = `late-f-${clientId}`;
    let release!: () => void;
    await new Promise<void>((held) => {
      void navigator.locks.request(`chainsync:leader:chainsync:${name}:replica`, () => {
        held();
        return new Promise<void>((r) => (release = r));
      });
    });
    const fresh = (await tab({ name, clientId, schedule: { syncOnStart: false } })).replica;
    expect((await fresh.status()).leader).toBe(false);
    const syncing = fresh.sync();
    release(); // the tab now wins the election and runs the sync it asked for
    const result = await syncing;
    expect(result?.reset).toBe('bootstrap');
    expect(await fresh.get('c', 'x')).toEqual({ n: 1 });
  });

  it('two tabs writing at once while the leader syncs lose nothing (one write lock across tabs)', async () => {
    const clientId = crypto.randomUUID();
    const name = `race-${clientId}`;
    const [t1, t2] = [(await tab({ name, clientId })).replica, (await tab({ name, clientId })).replica];
    const writes = (t: ReplicaClient, who: string) =>
      Promise.all(Array.from({ length: 15 }, (_, i) => t.create('c', `${who}-${i}`, { who })));
    await Promise.all([writes(t1, 't1'), writes(t2, 't2'), t1.sync(), t2.sync()]);
    await t1.sync();
    expect((await t1.status()).pending).toBe(0);
    const device = (await tab({ name: `race-device-${clientId}`, clientId })).replica;
    await device.sync();
    const got = ids(await device.list('c'));
    expect(got).toHaveLength(30);
    expect(await device.list('c')).toEqual(await t2.list('c'));
  });

  it('typed errors cross the worker boundary', async () => {
    const clientId = crypto.randomUUID();
    const r = (await tab({ name: `errors-${clientId}`, clientId })).replica;
    await r.create('c', 'x');
    const error = await rejectsWith(r.create('c', 'x'), 'ALREADY_EXISTS');
    expect(error).toBeInstanceOf(AlreadyExistsError);
    await rejectsWith(r.update('c', 'missing', { a: 1 }), 'NOT_FOUND');
    await rejectsWith(r.get('', 'x'), 'INVALID_ARGUMENT');
    await rejectsWith(
      openReplica({
        name: `errors-bad3-${clientId}`,
        clientId,
        schedule: { intervalMs: -1 },
        worker: defaultWorker,
      }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(
      openReplica({ name: `errors-bad-${clientId}`, clientId: 'not-a-uuid', worker: defaultWorker }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(
      openReplica({
        name: `errors-bad2-${clientId}`,
        clientId,
        remote: { kind: 'http', url: 'ftp://example', prefix: 'p' } as never,
        worker: defaultWorker,
      }),
      'INVALID_ARGUMENT',
    );
  });

  it('with a secret, devices converge and the server holds no plaintext', async () => {
    const clientId = crypto.randomUUID();
    const secret = 'correct horse battery staple';
    const common = { clientId, secret, testOnlyPbkdf2Iterations: 1000 };
    const a = (await tab({ name: `enc-a-${clientId}`, ...common })).replica;
    await a.create('secrets', 's1', { text: 'plaintext-marker-42' });
    await a.sync();
    const b = (await tab({ name: `enc-b-${clientId}`, ...common })).replica;
    await b.sync();
    expect(await b.get('secrets', 's1')).toEqual({ text: 'plaintext-marker-42' });
    const listing = await fetch(`${serverUrl}?list=${encodeURIComponent(`set-${clientId}/`)}`);
    const { keys: names } = (await listing.json()) as { keys: string[] };
    expect(names.length).toBeGreaterThan(0);
    for (const key of names) {
      const body = await (await fetch(`${serverUrl}${key}`)).arrayBuffer();
      expect(new TextDecoder().decode(body)).not.toContain('plaintext-marker-42');
    }
    const wrong = (await tab({ name: `enc-c-${clientId}`, ...common, secret: 'wrong' })).replica;
    await rejectsWith(wrong.sync(), 'WRONG_SECRET');
  });

  it('blobs: put on one device, referenced from a property, synced, read on another', async () => {
    const clientId = crypto.randomUUID();
    const a = (await tab({ name: `blob-a-${clientId}`, clientId })).replica;
    const b = (await tab({ name: `blob-b-${clientId}`, clientId })).replica;
    const backing = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) & 0xff);
    // A view into a larger buffer: only its bytes are the blob.
    const data = backing.subarray(1_000, 250_000);
    const expected = data.slice();
    const ref = await a.putBlob(data, 'application/octet-stream');
    expect(ref).toEqual({
      $blob: await contentIdOf(expected),
      size: 249_000,
      type: 'application/octet-stream',
    });
    // The caller's buffer was not transferred away (detached): it is whole and unchanged.
    expect(backing.buffer.byteLength).toBe(300_000);
    expectSameBytes(data, expected);
    await a.create('files', 'f', { name: 'data.bin', content: ref as never });
    await a.sync();
    await b.sync();
    const props = await b.get('files', 'f');
    expect(props?.content).toEqual(ref);
    const read = await b.getBlob(props!.content as unknown as BlobRef);
    expectSameBytes(read, expected);
    expect(read.buffer.byteLength).toBe(249_000);
    expectSameBytes(await b.getBlob(ref.$blob), expected); // by content id, now from IndexedDB
    expectSameBytes(await a.getBlob(ref), expected);
    // A blob nobody stored: the worker's typed error reaches the caller.
    const unknown = await contentIdOf(new Uint8Array([1, 2, 3]));
    await rejectsWith(b.getBlob(unknown), 'CONTENT_NOT_FOUND');
  });

  it('blobs: once no object references a blob, garbage collection deletes the local copy only', async () => {
    const clientId = crypto.randomUUID();
    const a = (await tab({ name: `blob-gc-${clientId}`, clientId })).replica;
    const bytes = new TextEncoder().encode('collect me once nothing needs me');
    const ref = await a.putBlob(bytes);
    await a.create('files', 'f', { content: ref as never });
    await a.sync();
    expect((await a.collectBlobGarbage()).deleted).toEqual([]); // referenced: kept
    await a.delete('files', 'f');
    await a.sync();
    expect((await a.collectBlobGarbage()).deleted).toEqual([ref.$blob]);
    expect((await a.collectBlobGarbage()).deleted).toEqual([]);
    // The remote copy stays: the blob can still be read (downloaded again, verified).
    expect(await a.getBlob(ref)).toEqual(bytes);
  });

  it('blobs of an encrypted data set are sealed on the server and opened on the other device', async () => {
    const clientId = crypto.randomUUID();
    const common = { clientId, secret: 'blob secret', testOnlyPbkdf2Iterations: 1000 };
    const a = (await tab({ name: `eblob-a-${clientId}`, ...common })).replica;
    const b = (await tab({ name: `eblob-b-${clientId}`, ...common })).replica;
    const marker = new TextEncoder().encode('blob-plaintext-marker-'.repeat(100));
    const ref = await a.putBlob(marker, 'text/plain');
    expect(ref.sealed).toBeDefined();
    await a.create('files', 'f', { content: ref as never });
    await a.sync();
    await b.sync();
    const sealed = await fetch(`${serverUrl}set-${clientId}/blobs/${ref.sealed!.remote}`);
    expect(sealed.status).toBe(200);
    expect(new TextDecoder().decode(await sealed.arrayBuffer())).not.toContain('blob-plaintext-marker');
    const content = (await b.get('files', 'f'))!.content as unknown as BlobRef;
    expect(await b.getBlob(content)).toEqual(marker);
    // A bare id cannot open a sealed blob the device has not seen referenced (this one has not
    // synced yet): the worker says so.
    const other = (await tab({ name: `eblob-c-${clientId}`, ...common, schedule: { syncOnStart: false } }))
      .replica;
    await rejectsWith(other.getBlob(ref.$blob), 'INVALID_ARGUMENT');
  });

  it('blobs: bad input is refused with INVALID_ARGUMENT before anything is sent', async () => {
    const clientId = crypto.randomUUID();
    const r = (await tab({ name: `blob-bad-${clientId}`, clientId })).replica;
    const badData: unknown[] = ['text', new ArrayBuffer(4), [1, 2], null, new DataView(new ArrayBuffer(2))];
    for (const data of badData) {
      const error = await rejectsWith(r.putBlob(data as Uint8Array), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/Invalid data: expected a Uint8Array/);
    }
    const typeError = await rejectsWith(r.putBlob(new Uint8Array(1), 42 as never), 'INVALID_ARGUMENT');
    expect(typeError.message).toMatch(/Invalid type: expected a MIME type string/);
    const badBlobs: unknown[] = [
      'not-a-content-id',
      'A'.repeat(64),
      42,
      null,
      { $blob: 'x', size: 1 },
      { $blob: '0'.repeat(64), size: -1 },
      { $blob: '0'.repeat(64), size: 1, extra: true },
    ];
    for (const blob of badBlobs) {
      const error = await rejectsWith(r.getBlob(blob as BlobRef), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/Invalid blob: /);
    }
    // The replica still works: nothing bad reached the worker.
    const ref = await r.putBlob(new Uint8Array([9, 8, 7]));
    expect(await r.getBlob(ref)).toEqual(new Uint8Array([9, 8, 7]));
  });

  it('compaction: the options reach the engine, whose leader compacts behind its snapshots; a new device still bootstraps', async () => {
    const clientId = crypto.randomUUID();
    const listed = async (prefix: string) => {
      const listing = await fetch(`${serverUrl}?list=${encodeURIComponent(prefix)}`);
      return (await listing.json()) as { keys: string[]; bytes: number[] };
    };
    const records = async () => (await listed(`set-${clientId}/chain/${clientId}/c/`)).keys.length;
    const manual = { syncOnStart: false, intervalMs: 0, live: false };
    const a = (
      await tab({
        name: `compact-a-${clientId}`,
        clientId,
        schedule: manual,
        snapshotPolicy: { versions: 1, days: 14 },
        compaction: { keepCommits: 1, keepDays: 0 },
      })
    ).replica;
    for (let i = 0; i < 6; i++) {
      await a.create('todos', `t${i}`, { i });
      // The change syncs at once (pushing, snapshotting, compacting), this sync after it if need be;
      // the leader lists the data set after the sync that compacted, in the background.
      await a.sync();
      await waitFor(
        async () => (await a.status()).remote?.retained.to === i + 1,
        `status().remote after version ${i + 1}`,
      );
    }
    // status().remote is what the server holds: its objects and bytes, and the versions it keeps.
    const all = await listed(`set-${clientId}/`);
    const kept = (await listed(`set-${clientId}/chain/${clientId}/i/`)).keys.length;
    expect((await a.status()).remote).toEqual({
      retained: { from: 6 - kept + 1, to: 6 },
      objects: all.keys.length,
      bytes: all.bytes.reduce((x, y) => x + y, 0),
      at: expect.any(Number),
    });
    expect(kept).toBeLessThan(6);
    // Six versions and their snapshots made at least twelve commits; the old ones are gone.
    expect(await records()).toBeLessThan(6);
    const b = (await tab({ name: `compact-b-${clientId}`, clientId, schedule: manual })).replica;
    await b.sync();
    expect(ids(await b.list('todos'))).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    await rejectsWith(
      openReplica({
        name: `compact-bad-${clientId}`,
        clientId,
        compaction: { keepDays: -1 },
        worker: defaultWorker,
      }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(
      openReplica({
        name: `compact-bad2-${clientId}`,
        clientId,
        snapshotPolicy: { versions: 0, days: 1 },
        worker: defaultWorker,
      }),
      'INVALID_ARGUMENT',
    );
  });

  it('inspect() shows the base version and the pending operations, before and after a push', async () => {
    const clientId = crypto.randomUUID();
    const name = `inspect-${clientId}`;
    // Offline first (no remote), so no sync can race the reads below.
    const offline = (await tab({ name, clientId, remote: undefined })).replica;
    await offline.create('c', 'x', { n: 1 });
    const before = await offline.inspect();
    expect(before.state).toMatchObject({ baseHeight: 0, inFlight: null });
    expect(before.pending.map((p) => p.op.type)).toEqual(['create', 'update']);
    expect((await offline.inspect(1)).pending).toHaveLength(1);
    await offline.close();

    const online = (await tab({ name, clientId })).replica;
    await online.sync();
    const after = await online.inspect();
    expect(after.pending).toEqual([]);
    expect(after.state.baseHeight).toBeGreaterThan(0);
    expect(after.state.baseVersionId).not.toBe(before.state.baseVersionId);
  });

  it('close() lets a write made just before it finish: kept, not failed (an edit, then the app reopens the replica)', async () => {
    const clientId = crypto.randomUUID();
    const name = `close-write-${clientId}`;
    const first = (await tab({ name, clientId, remote: undefined })).replica;
    await first.create('tasks', 't', { title: 'before' });
    // Not awaited, as a UI event handler would not: the close message reaches the worker while
    // the update still waits there for the write lock.
    const edit = first.update('tasks', 't', { title: 'edited' });
    const closed = first.close();
    await rejectsWith(first.update('tasks', 't', { title: 'after close()' }), 'STORE_CLOSED');
    await closed;
    await expect(edit).resolves.toBeUndefined();

    const reopened = (await tab({ name, clientId, remote: undefined })).replica;
    expect(await reopened.get('tasks', 't')).toEqual({ title: 'edited' });
    const { pending } = await reopened.inspect();
    expect(pending.map(({ op }) => (op.type === 'update' ? op.value : op.type))).toEqual([
      'create',
      'before',
      'edited',
    ]);
  });
});
