/**
 * Sync progress: the meter's throttle (one event per page at most, at least one per interval while
 * pages come, `done === total` at each phase's end) on injected timers, and a replica catching up
 * a remote chain (RemoteStorage on an in-memory bucket) and pushing its queue.
 */
import { describe, expect, it } from 'vitest';
import type { SyncPhase, SyncProgress } from '../contracts/replica.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { RemoteStorage } from '../remote/remote-storage.js';
import { ManualClock } from '../test-support/manual-clock.js';
import { PROGRESS_INTERVAL_MS, ProgressMeter } from './progress.js';
import { Replica } from './replica.js';

function meter() {
  const clock = new ManualClock();
  const events: SyncProgress[] = [];
  return { clock, events, meter: new ProgressMeter((p) => events.push(p), clock) };
}

/** Each phase's events in order (a phase that starts again after another is a new run). */
function runs(events: readonly SyncProgress[]): { phase: SyncPhase; events: SyncProgress[] }[] {
  const out: { phase: SyncPhase; events: SyncProgress[] }[] = [];
  for (const e of events) {
    const last = out.at(-1);
    if (last?.phase === e.phase && e.done >= (last.events.at(-1)?.done ?? 0)) last.events.push(e);
    else out.push({ phase: e.phase, events: [e] });
  }
  return out;
}

/** Within each run `done` and `bytes` never go back, `total` is never below `done`, and the run ends at `done === total`. */
function expectWellFormed(events: readonly SyncProgress[]): void {
  for (const run of runs(events)) {
    const dones = run.events.map((e) => e.done);
    const bytes = run.events.map((e) => e.bytes);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    for (const e of run.events) if (e.total !== null) expect(e.total).toBeGreaterThanOrEqual(e.done);
    const last = run.events.at(-1);
    expect(last?.total).toBe(last?.done);
  }
}

describe('ProgressMeter', () => {
  it('tells a phase at its start, then at most once per page and at least once per interval', async () => {
    const { clock, events, meter: m } = meter();
    m.begin('pull', 10);
    expect(events).toEqual([{ phase: 'pull', done: 0, total: 10, bytes: 0 }]);
    // Three pages within one interval: folded into one event when the interval is over.
    m.page(2, 20);
    await clock.advance(10);
    m.page(2, 20);
    m.page(2, 20);
    expect(events).toHaveLength(1);
    await clock.advance(PROGRESS_INTERVAL_MS);
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({ phase: 'pull', done: 6, total: 10, bytes: 60 });
    // No page, no event: the timer told what was owed, and nothing more is.
    await clock.advance(10 * PROGRESS_INTERVAL_MS);
    expect(events).toHaveLength(2);
    // A page long after the last event is told at once.
    m.page(4, 40);
    expect(events.at(-1)).toEqual({ phase: 'pull', done: 10, total: 10, bytes: 100 });
    m.finish(true);
    expect(events).toHaveLength(3); // it said done === total already
    expectWellFormed(events);
  });

  it('tells one event per page when pages are slower than the interval', async () => {
    const { clock, events, meter: m } = meter();
    m.begin('push', 5);
    for (let i = 0; i < 5; i++) {
      await clock.advance(PROGRESS_INTERVAL_MS);
      m.page(1, 7);
    }
    m.finish(true);
    expect(events.map((e) => e.done)).toEqual([0, 1, 2, 3, 4, 5]);
    expectWellFormed(events);
  });

  it('ends a phase at done === total: an estimate above what came comes down, an unknown total is set', async () => {
    const { clock, events, meter: m } = meter();
    m.begin('pull', 12); // e.g. a snapshot's commit counted as a version
    m.page(10, 100);
    m.begin('push', null); // the pull ends here, with the page the interval held back
    expect(events.slice(0, 2)).toEqual([
      { phase: 'pull', done: 0, total: 12, bytes: 0 },
      { phase: 'pull', done: 10, total: 10, bytes: 100 },
    ]);
    await clock.advance(PROGRESS_INTERVAL_MS);
    m.page(3, 30);
    expect(events.at(-1)).toEqual({ phase: 'push', done: 3, total: null, bytes: 30 });
    m.finish(true);
    expect(events.at(-1)).toEqual({ phase: 'push', done: 3, total: 3, bytes: 30 });
    // The timer of a phase that ended tells nothing afterwards.
    await clock.advance(10 * PROGRESS_INTERVAL_MS);
    expect(events).toHaveLength(5);
    expectWellFormed(events);
  });

  it('keeps counting when a phase starts again (a later round), and never lets total fall below done', async () => {
    const { clock, events, meter: m } = meter();
    m.begin('push', 4);
    m.page(3, 30);
    await clock.advance(PROGRESS_INTERVAL_MS);
    m.begin('push', 5); // the queue grew meanwhile: 3 done, 5 left
    m.page(6, 60);
    await clock.advance(PROGRESS_INTERVAL_MS);
    m.page(4, 40); // more than was known to be left
    m.finish(true);
    expect(events.map((e) => [e.done, e.total])).toEqual([
      [0, 4],
      [3, 4],
      [9, 8 + 1], // 3 + 6 pushed, never a total below what is done
      [13, 13],
    ]);
    expectWellFormed(events);
  });

  it('a failed sync tells what was done and claims no end', async () => {
    const { clock, events, meter: m } = meter();
    m.begin('pull', 10);
    m.page(4, 40);
    m.finish(false);
    expect(events.at(-1)).toEqual({ phase: 'pull', done: 4, total: 10, bytes: 40 });
    await clock.advance(10 * PROGRESS_INTERVAL_MS);
    expect(events).toHaveLength(2);
    // The next sync starts afresh.
    m.begin('pull', 6);
    expect(events.at(-1)).toEqual({ phase: 'pull', done: 0, total: 6, bytes: 0 });
  });
});

describe('a replica’s sync progress over a remote chain', () => {
  const N = 30;

  async function chain() {
    const backend = new MemoryRemoteBackend();
    const storage = new RemoteStorage(backend, { prefix: 'progress' });
    const clientId = crypto.randomUUID();
    const open = (onProgress?: (p: SyncProgress) => void) =>
      Replica.open({
        store: new MemoryReplicaStore(),
        storage,
        clientId,
        maxOperationsPerVersion: 1,
        pullPageSize: 4,
        onProgress,
      });
    return { open };
  }

  it(`pushes a queue of ${N} operations, and a replica catches up on ${N} versions, each ending at done === total`, async () => {
    const { open } = await chain();
    const pushed: SyncProgress[] = [];
    const writer = await open((p) => pushed.push(p));
    const pulled: SyncProgress[] = [];
    const reader = await open((p) => pulled.push(p));
    // The reader gets a base first (from the snapshot of the first sync): then it pulls versions.
    await writer.create('c', 'first');
    await writer.sync();
    await reader.sync();
    pushed.length = 0;
    pulled.length = 0;
    await writer.change(
      Array.from({ length: N }, (_, i) => ({ type: 'create' as const, collection: 'c', id: `o${i}` })),
    );
    const result = await writer.sync({ avoidSnapshots: true });
    expect(result.pushedOperations).toBe(N);
    expect(pushed[0]).toEqual({ phase: 'push', done: 0, total: N, bytes: 0 });
    expect(pushed.at(-1)).toMatchObject({ phase: 'push', done: N, total: N });
    expect(pushed.every((p) => p.phase === 'push')).toBe(true);
    expectWellFormed(pushed);

    const caughtUp = await reader.sync({ avoidSnapshots: true });
    expect(caughtUp.pulledVersions).toBe(N);
    // The total is known from the first event, from the chain's commit numbers.
    expect(pulled[0]).toEqual({ phase: 'pull', done: 0, total: N, bytes: 0 });
    expect(pulled.at(-1)).toMatchObject({ phase: 'pull', done: N, total: N });
    expect(pulled.at(-1)?.bytes).toBeGreaterThan(0);
    // At most one event per page (N / 4 pages), plus the phase's first.
    expect(pulled.length).toBeLessThanOrEqual(1 + Math.ceil(N / 4));
    expectWellFormed(pulled);
    // An idle sync tells nothing.
    const before = pulled.length;
    await reader.sync({ avoidSnapshots: true });
    expect(pulled).toHaveLength(before);
  });

  it('a fresh replica bootstraps from the snapshot, then pulls the versions after it, each phase ending at done === total', async () => {
    const { open } = await chain();
    const writer = await open();
    await writer.change(
      Array.from({ length: N }, (_, i) => ({ type: 'create' as const, collection: 'c', id: `o${i}` })),
    );
    // The chain's first snapshot is uploaded at its head; then more versions after it.
    expect((await writer.sync()).snapshotUploaded).toBe(true);
    for (let i = 0; i < 5; i++) await writer.create('c', `late-${i}`);
    await writer.sync({ avoidSnapshots: true });

    const events: SyncProgress[] = [];
    const fresh = await open((p) => events.push(p));
    const result = await fresh.sync({ avoidSnapshots: true });
    expect(result.reset).toBe('bootstrap');
    expect(result.pulledVersions).toBe(5);
    expect(runs(events).map((r) => r.phase)).toEqual(['bootstrap', 'pull']);
    // The pull's total is known from its first event: the commits after the snapshot's version.
    expect(events.find((e) => e.phase === 'pull')).toEqual({ phase: 'pull', done: 0, total: 5, bytes: 0 });
    const bootstrap = events.filter((e) => e.phase === 'bootstrap');
    expect(bootstrap[0]).toEqual({ phase: 'bootstrap', done: 0, total: 1, bytes: 0 });
    expect(bootstrap.at(-1)).toMatchObject({ done: 1, total: 1 });
    expect(bootstrap.at(-1)?.bytes).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ phase: 'pull', done: 5, total: 5 });
    expectWellFormed(events);
    expect((await fresh.list('c')).length).toBe(N + 5);
  });

  it('counting the versions ahead costs no request more: the first page starts where the count looked', async () => {
    const backend = new MemoryRemoteBackend();
    const reads: string[] = [];
    // Every read of the bucket, by key, as the readers below make them.
    const counted = new Proxy(backend, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (String(name).startsWith('download')) reads.push(String(args[0]));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const clientId = crypto.randomUUID();
    const open = (storage: RemoteStorage, onProgress?: (p: SyncProgress) => void) =>
      Replica.open({ store: new MemoryReplicaStore(), storage, clientId, onProgress });
    const writer = await open(new RemoteStorage(backend, { prefix: 'p' }));
    await writer.create('c', 'first');
    await writer.sync();
    // Two readers with the same base, one told its progress.
    const told: SyncProgress[] = [];
    const quiet = await open(new RemoteStorage(counted, { prefix: 'p' }));
    const reporting = await open(new RemoteStorage(counted, { prefix: 'p' }), (p) => told.push(p));
    await quiet.sync();
    await reporting.sync();
    for (let i = 0; i < 10; i++) {
      await writer.create('c', `o${i}`);
      await writer.sync({ avoidSnapshots: true });
    }
    reads.length = 0;
    expect((await quiet.sync({ avoidSnapshots: true })).pulledVersions).toBe(10);
    const withoutProgress = [...reads].sort();
    reads.length = 0;
    expect((await reporting.sync({ avoidSnapshots: true })).pulledVersions).toBe(10);
    expect([...reads].sort()).toEqual(withoutProgress);
    expect(told.find((p) => p.phase === 'pull')).toMatchObject({ done: 0, total: 10 });
  });

  it('a snapshot stored in parts is counted in parts, its size known from the start', async () => {
    const backend = new MemoryRemoteBackend();
    // Objects far smaller than the snapshot of them all: the snapshot is written in parts.
    const storage = new RemoteStorage(backend, { prefix: 'parts', maxObjectBytes: 4096 });
    const clientId = crypto.randomUUID();
    const writer = await Replica.open({ store: new MemoryReplicaStore(), storage, clientId });
    const noise = () =>
      Array.from(crypto.getRandomValues(new Uint8Array(300)), (x) => x.toString(16)).join('');
    await writer.change(
      Array.from({ length: 40 }, (_, i) => ({
        type: 'create' as const,
        collection: 'c',
        id: `o${i}`,
        properties: { noise: noise() },
      })),
    );
    expect((await writer.sync()).snapshotUploaded).toBe(true);

    const events: SyncProgress[] = [];
    const fresh = await Replica.open({
      store: new MemoryReplicaStore(),
      storage: new RemoteStorage(backend, { prefix: 'parts' }),
      clientId,
      onProgress: (p) => events.push(p),
    });
    expect((await fresh.sync()).reset).toBe('bootstrap');
    const bootstrap = events.filter((e) => e.phase === 'bootstrap');
    const last = bootstrap.at(-1);
    expect(last?.total).toBeGreaterThan(2);
    expect(last).toEqual({
      phase: 'bootstrap',
      done: last?.total,
      total: last?.total,
      bytes: last?.totalBytes,
      totalBytes: last?.totalBytes,
    });
    // Every event after the first part names the whole snapshot's size.
    expect(
      bootstrap.slice(1).every((e) => e.totalBytes === last?.totalBytes && e.total === last?.total),
    ).toBe(true);
    expectWellFormed(events);
    expect(await fresh.list('c')).toHaveLength(40);
  });

  it('refuses an onProgress that is not a function', async () => {
    await expect(
      Replica.open({ store: new MemoryReplicaStore(), onProgress: 'log' as never }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
