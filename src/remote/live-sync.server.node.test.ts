/**
 * Live sync over the real reference server on 127.0.0.1 (docs/live-sync.md): replica B's leader
 * wiring (a `SyncScheduler` with the default 30 s interval and a `RemoteWatcher` on the chain's
 * pointer) hears of A's write through the change signal and pulls it. Both run on a clock that
 * never moves unless the test says so: the interval cannot be what syncs B, and nothing sleeps.
 * The same with the signal missing (the msw object server: polling, on the clock), and with a
 * proxy cutting the held request or a server restart (the watcher re-arms with the last ETag it
 * saw; nothing is lost), including a real TCP proxy that closes connections idle for 5 s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaChangeEvent } from '../contracts/replica.js';
import type { ObjectVersion } from '../contracts/remote-backend.js';
import { RemoteWatcher } from '../core/remote-watcher.js';
import { SyncScheduler } from '../core/sync-scheduler.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { startServer, type RunningServer } from '../server/index.js';
import { serverPerFile } from '../test-support/temp-server.js';
import { Replica } from '../sync/replica.js';
import { createObjectServer, inProcessFetch } from '../testing/msw/index.js';
import { ManualClock, settle } from '../test-support/manual-clock.js';
import { startIdleCutProxy } from '../test-support/idle-cut-proxy.js';
import { connectRemote, forgetProbes } from './http/connect.js';
import type { FetchLike } from './http/options.js';
import { openRemote, remoteDataSet, type ReplicaRemote } from './remote-config.js';

const shared = serverPerFile('live');
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  forgetProbes();
});

/**
 * The watcher's held request as it passes a proxy: a conditional GET of the pointer with
 * `Prefer: wait=N>0`. Fetch sends headers in sorted order, so If-None-Match comes before Prefer.
 */
const HELD_WATCH =
  /^GET \S+\/client HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*?if-none-match:[^\r\n]*\r\n(?:[^\r\n]+\r\n)*?prefer: *wait=[1-9]/im;

/** A plain device: syncs when told. */
async function writer(remote: ReplicaRemote, clientId: string): Promise<Replica> {
  return Replica.open({ store: new MemoryReplicaStore(), storage: remote.storage, clientId });
}

/**
 * A device wired as the leader tab's worker wires it: the scheduler (default schedule) syncs when
 * the watcher sees the pointer move. Its first sync is awaited before either starts, and the sync
 * the watcher's first answer asks for too, so that afterwards only a change makes it sync.
 */
async function leader(remote: ReplicaRemote, clientId: string, clock = new ManualClock()) {
  const replica = await writer(remote, clientId);
  // As the host: the pointer the last successful sync left is not another device's change.
  let syncedHeads: ReadonlySet<ObjectVersion | null> = new Set();
  let runs = 0;
  const scheduler = new SyncScheduler(
    () => replica.sync(),
    { started: () => runs++, succeeded: () => (syncedHeads = new Set(remote.headsSeen(clientId))) },
    { syncOnStart: false },
    clock,
  );
  let syncs = 0;
  const failed: (() => void)[] = [];
  const changes: (() => void)[] = [];
  let answered: () => void = () => undefined;
  const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
  const watcher = new RemoteWatcher({
    check: remote.watchHead(clientId)!,
    onChange: (version) => {
      syncs++;
      scheduler.remoteChanged(() => syncedHeads.has(version));
      answered();
      for (const tell of changes.splice(0)) tell();
    },
    onError: () => {
      for (const tell of failed.splice(0)) tell();
    },
    timers: clock,
  });
  stops.push(() => {
    watcher.stop();
    scheduler.stop();
  });
  scheduler.start();
  watcher.start();
  await firstAnswer;
  await scheduler.syncNow(); // after the one the first answer started
  return {
    replica,
    clock,
    scheduler,
    syncs: () => syncs,
    /** Syncs the scheduler started. */
    runs: () => runs,
    /** Resolves at the watcher's next change (after the scheduler was told). */
    nextChange: () => new Promise<void>((resolve) => changes.push(resolve)),
    /** Resolves at the watcher's next failed check. */
    nextFailure: () => new Promise<void>((resolve) => failed.push(resolve)),
  };
}

/** The next change B pulls from the remote. */
function pulled(replica: Replica): Promise<ReplicaChangeEvent> {
  return new Promise((resolve) => {
    const unsubscribe = replica.subscribe((event) => {
      if (event.source !== 'sync') return;
      unsubscribe();
      resolve(event);
    });
  });
}

describe('live sync over the reference server', () => {
  it("B pulls A's write through the change signal, its 30 s interval never elapsing", async () => {
    const clientId = crypto.randomUUID();
    const prefix = `live-${clientId}`;
    const remoteA = openRemote({ kind: 'http', url: shared.server.url, prefix });
    const a = await writer(remoteA, clientId);
    await a.create('notes', 'n', { title: 'first' });
    await a.sync();
    const b = await leader(openRemote({ kind: 'http', url: shared.server.url, prefix }), clientId);
    expect(await b.replica.get('notes', 'n')).toEqual({ title: 'first' });
    for (const title of ['second', 'third']) {
      const next = pulled(b.replica);
      await a.update('notes', 'n', { title });
      await a.sync();
      await next;
      expect(await b.replica.get('notes', 'n')).toEqual({ title });
    }
    // B's clock never moved: neither its interval nor a poll can have made it sync.
  });

  it("a leader's own push does not make it sync again (its watcher sees its own pointer move), another device's still does", async () => {
    const clientId = crypto.randomUUID();
    const prefix = `live-${clientId}`;
    const a = await leader(openRemote({ kind: 'http', url: shared.server.url, prefix }), clientId);
    for (const title of ['first', 'second', 'third']) {
      const before = a.runs();
      const own = a.nextChange();
      await a.replica.create('notes', title, { title });
      await a.scheduler.syncNow();
      await own; // the held request answered A's own pointer move
      await a.scheduler.settled();
      expect(a.runs()).toBe(before + 1);
    }
    // Another device's write: A syncs for it.
    const b = await writer(openRemote({ kind: 'http', url: shared.server.url, prefix }), clientId);
    const next = pulled(a.replica);
    const before = a.runs();
    await b.create('notes', 'from-b', { title: 'b' });
    await b.sync();
    await next;
    expect(a.runs()).toBe(before + 1);
    expect(await a.replica.get('notes', 'from-b')).toEqual({ title: 'b' });
  });

  it('polls a server without the signal: the change arrives at the next poll of the clock', async () => {
    const msw = createObjectServer({ baseUrl: 'https://plain.test/store' });
    const fetch = inProcessFetch(msw.handlers);
    const backend = await connectRemote({ baseUrl: msw.baseUrl, fetch, probe: { rounds: 1 } });
    const clientId = crypto.randomUUID();
    const remote = remoteDataSet(backend, 'plain');
    const a = await writer(remote, clientId);
    await a.create('notes', 'n', { title: 'first' });
    await a.sync();
    const b = await leader(remoteDataSet(backend, 'plain'), clientId);
    const next = pulled(b.replica);
    await a.update('notes', 'n', { title: 'second' });
    await a.sync();
    await b.clock.advance(5_000); // the focused page's poll interval
    await next;
    expect(await b.replica.get('notes', 'n')).toEqual({ title: 'second' });
  });

  it('a proxy that cuts the held request loses no change: the watcher re-arms with the last ETag it saw', async () => {
    // Held requests (Prefer: wait=N>0) are cut by the "proxy" while `cutting` is set.
    let cutting = false;
    let cut: () => void = () => undefined;
    const wasCut = new Promise<void>((resolve) => (cut = resolve));
    const proxy: FetchLike = async (input, init) => {
      const held = /^wait=[1-9]/.test(new Headers(init.headers).get('prefer') ?? '');
      if (held && cutting) {
        cut();
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
        });
      }
      return globalThis.fetch(input, init);
    };
    const backend = await connectRemote({
      baseUrl: shared.server.url,
      fetch: proxy,
      probe: { rounds: 1 },
      readRetry: { retries: 0 },
    });
    const clientId = crypto.randomUUID();
    const a = await writer(openRemote({ kind: 'http', url: shared.server.url, prefix: 'cut' }), clientId);
    await a.create('notes', 'n', { title: 'first' });
    await a.sync();
    const b = await leader(remoteDataSet(backend, 'cut'), clientId);
    const syncsBefore = b.syncs();
    // The request held now answers A's next write; the one the watcher sends after it is cut.
    cutting = true;
    const first = pulled(b.replica);
    await a.update('notes', 'n', { title: 'before the cut' });
    await a.sync();
    await first;
    await wasCut;
    await settle(); // the watcher takes the failure and arms its backoff
    // A change made while the watcher has no request out: the re-armed request must report it.
    await a.update('notes', 'n', { title: 'while cut' });
    await a.sync();
    cutting = false;
    const next = pulled(b.replica);
    await b.clock.advance(1_000); // the backoff after a failure (jitter in [500, 1 000] ms)
    await next;
    expect(await b.replica.get('notes', 'n')).toEqual({ title: 'while cut' });
    expect(b.syncs() - syncsBefore).toBe(2);
  });

  it('a TCP proxy that closes connections idle for 5 s loses no change: the watcher re-arms with the last ETag it saw', async () => {
    // The proxy measures idleness on B's clock: moving it 5 s cuts B's held request (it sends
    // nothing while it waits), with no real time passing.
    const clock = new ManualClock();
    const proxy = await startIdleCutProxy(shared.server.url, 5_000, clock);
    try {
      const backend = await connectRemote({
        baseUrl: proxy.url,
        probe: { rounds: 1 },
        readRetry: { retries: 0 },
      });
      const clientId = crypto.randomUUID();
      const prefix = `idle-${clientId}`;
      const a = await writer(openRemote({ kind: 'http', url: shared.server.url, prefix }), clientId);
      await a.create('notes', 'n', { title: 'first' });
      await a.sync();
      const b = await leader(remoteDataSet(backend, prefix), clientId, clock);
      const syncsBefore = b.syncs();
      /** Waits for the watcher's held request to be through the proxy, then idles it out. */
      const cut = async () => {
        await proxy.sent(HELD_WATCH);
        const down = b.nextFailure();
        await clock.advance(5_000);
        await down;
      };
      // A cut with nothing changed: re-armed with the pointer's last ETag, the request is held
      // again (a watcher that forgot it would ask without If-None-Match and sync for nothing).
      await cut();
      expect(proxy.cuts).toBeGreaterThan(0);
      await clock.advance(1_000); // the backoff after one failure (jitter in [500, 1 000] ms)
      await cut();
      expect(b.syncs()).toBe(syncsBefore);
      // A change made while the watcher has no request out: the re-armed request must report it.
      await a.update('notes', 'n', { title: 'while cut' });
      await a.sync();
      const next = pulled(b.replica);
      // No answer came between the cuts: the second failure in a row (jitter in [1 000, 2 000] ms).
      await clock.advance(2_000);
      await next;
      expect(await b.replica.get('notes', 'n')).toEqual({ title: 'while cut' });
      expect(b.syncs() - syncsBefore).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('a server restart loses no change: the held request ends, the watcher re-arms on the restarted server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chainsync-live-restart-'));
    let first: RunningServer | undefined = await startServer({ dir, port: 0 });
    const port = Number(new URL(first.url).port);
    let second: RunningServer | undefined;
    try {
      const clientId = crypto.randomUUID();
      const prefix = `restart-${clientId}`;
      const a = await writer(openRemote({ kind: 'http', url: first.url, prefix }), clientId);
      await a.create('notes', 'n', { title: 'first' });
      await a.sync();
      const b = await leader(openRemote({ kind: 'http', url: first.url, prefix }), clientId);
      // The shutdown answers B's held request; its next one finds no server and fails.
      const down = b.nextFailure();
      await first.close();
      first = undefined;
      await down;
      second = await startServer({ dir, port });
      await a.update('notes', 'n', { title: 'after the restart' });
      await a.sync();
      const next = pulled(b.replica);
      await b.clock.advance(1_000); // the backoff after one failure (jitter in [500, 1 000] ms)
      await next;
      expect(await b.replica.get('notes', 'n')).toEqual({ title: 'after the restart' });
    } finally {
      await first?.close();
      await second?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
