/**
 * The sync benchmark page (real Chromium, on-disk profile, driven by `npm run bench`). Every
 * replica is a {@link Replica} used directly on the page's main thread with the worker's IndexedDB
 * ReplicaStore (no worker boundary: the figures are the engine's, the store's and the network's),
 * syncing through RemoteStorage over HttpRemoteBackend to the reference server that bench/run.mjs
 * started on 127.0.0.1 (its URL comes in `?server=`).
 */
import type { Change } from '../src/contracts/replica.js';
import type { Storage, StorageTxn } from '../src/contracts/storage.js';
import { forwardingTxn } from '../src/core/forwarding-txn.js';
import { connectRemote } from '../src/remote/http/connect.js';
import type { FetchLike } from '../src/remote/http/options.js';
import { RemoteStorage } from '../src/remote/remote-storage.js';
import { MemoryReplicaStore } from '../src/memory/memory-replica-store.js';
import { Replica, type ReplicaOptions } from '../src/sync/replica.js';
import { IdbConnection } from '../worker/idb/connection.js';
import { IdbReplicaStore } from '../worker/idb/idb-replica-store.js';
import { openDB } from 'idb';

export interface SyncBenchRow {
  readonly workload: string;
  readonly medianMs: number;
  readonly samples: number;
  /** Extra figures (throughput, conflicts, ...), already formatted. */
  readonly detail: string;
  /** A figure quoted from the issue, not measured here, with the ratio to it. */
  readonly quoted?: { readonly label: string; readonly ms: number };
  /** What bounds the workload, measured in the same run: raw `idb` doing the unavoidable writes. */
  readonly baseline?: { readonly label: string; readonly ms: number };
}

const PUSH_PULL_OPS = 10_000;
const PUSH_PULL_RUNS = 5;
const CATCH_UP_VERSIONS = 1_000;
const CATCH_UP_RTT_MS = 20;
const CATCH_UP_RUNS = 3;
const BOOTSTRAP_OBJECTS = 100_000;
const BOOTSTRAP_RUNS = 3;
const WRITERS = 8;
const WRITER_ROUNDS = 10;
const WRITER_OPS_PER_ROUND = 10;
const CONCURRENT_RUNS = 3;
/** Never snapshot on its own: the workloads decide what the chain looks like. */
const NO_SNAPSHOTS = { versions: 1e12, days: 1e12 };

const params = new URL(location.href).searchParams;
const serverUrl = params.get('server');
/** `?workload=catch-up&workload=...` runs only those; all by default. */
const selected = params.getAll('workload');
if (!serverUrl) throw new Error('open this page with ?server=<reference server URL>');

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark self-check failed: ${what}`);
}

/** `fetch` with `rttMs` of added round-trip latency on every request (before it is sent). */
function delayed(rttMs: number): FetchLike {
  return async (url, init) => {
    await new Promise((resolve) => setTimeout(resolve, rttMs));
    return fetch(url, init);
  };
}

let stores = 0;
async function storage(
  clientPrefix: string,
  fetchImpl?: FetchLike,
  concurrency?: number,
): Promise<RemoteStorage> {
  const backend = await connectRemote({ baseUrl: serverUrl!, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  return new RemoteStorage(backend, { prefix: clientPrefix, ...(concurrency ? { concurrency } : {}) });
}

async function replica(
  remote: Storage,
  clientId: string,
  extra: Partial<ReplicaOptions> = {},
  inMemory = false,
): Promise<Replica> {
  const store = inMemory
    ? new MemoryReplicaStore()
    : new IdbReplicaStore(new IdbConnection(`chainsync-sync-bench-${Date.now()}-${++stores}`));
  return Replica.open({ store, storage: remote, clientId, snapshotPolicy: NO_SNAPSHOTS, ...extra });
}

/**
 * Raw `idb`: `count` objects put into a fresh object store in one readwrite transaction, the
 * writes a replica cannot avoid when it takes in `count` new objects. Median of `runs`.
 */
async function rawIdbPuts(count: number, runs: number): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const name = `chainsync-sync-bench-raw-${Date.now()}-${run}`;
    const db = await openDB(name, 1, {
      upgrade: (d) => d.createObjectStore('objects', { keyPath: ['collection', 'id'] }),
    });
    const rows = Array.from({ length: count }, (_, i) => ({
      collection: 'tasks',
      id: `o-${String(i).padStart(6, '0')}`,
      properties: { title: `task ${i}`, done: i % 3 === 0 },
    }));
    const t0 = performance.now();
    const tx = db.transaction('objects', 'readwrite', { durability: 'relaxed' });
    for (const row of rows) void tx.store.put(row);
    await tx.done;
    times.push(performance.now() - t0);
    db.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    indexedDB.deleteDatabase(name);
  }
  return median(times);
}

function creates(n: number, tag: string): Change[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'create' as const,
    collection: 'tasks',
    id: `${tag}-${String(i).padStart(6, '0')}`,
  }));
}

/**
 * (a) 10,000 operations pushed by A and pulled by B, B already past A's first version. Run with
 * the IndexedDB store, then with MemoryReplicaStore to show what the local store costs.
 */
async function pushPull(): Promise<SyncBenchRow[]> {
  return [...(await pushPullWith(false)), ...(await pushPullWith(true))];
}

async function pushPullWith(inMemory: boolean): Promise<SyncBenchRow[]> {
  const total: number[] = [];
  const push: number[] = [];
  const pull: number[] = [];
  for (let run = 0; run < PUSH_PULL_RUNS + 1; run++) {
    const clientId = crypto.randomUUID();
    const remote = await storage(`bench/push-pull/${clientId}`);
    const a = await replica(remote, clientId, {}, inMemory);
    const b = await replica(remote, clientId, {}, inMemory);
    await a.create('tasks', 'seed');
    await a.sync();
    await b.sync(); // b's base is now a's first version: what follows is pulled, not bootstrapped
    await a.change(creates(PUSH_PULL_OPS, 'op'));
    const t0 = performance.now();
    const pushed = await a.sync();
    const t1 = performance.now();
    const pulled = await b.sync();
    const t2 = performance.now();
    check(pushed.pushedOperations === PUSH_PULL_OPS, `A pushed ${pushed.pushedOperations} operations`);
    check(pulled.reset === null && pulled.pulledVersions === pushed.pushedVersions, 'B pulled every version');
    check((await b.list('tasks')).length === PUSH_PULL_OPS + 1, 'B holds every object');
    if (run === 0) continue; // warm-up
    push.push(t1 - t0);
    pull.push(t2 - t1);
    total.push(t2 - t0);
  }
  return [
    {
      workload: `${PUSH_PULL_OPS} ops: A pushes + B pulls (replicas on ${inMemory ? 'MemoryReplicaStore' : 'IndexedDB'})`,
      medianMs: median(total),
      samples: total.length,
      detail: `push ${median(push).toFixed(0)} ms, pull ${median(pull).toFixed(0)} ms (versions of 1000 ops)`,
      ...(inMemory
        ? {}
        : {
            quoted: { label: 'PouchDB 10,000 docs from pouchdb-server (quoted in issue 5)', ms: 8_800 },
            baseline: {
              label: `raw idb putting B's ${PUSH_PULL_OPS} new objects in one transaction`,
              ms: await rawIdbPuts(PUSH_PULL_OPS, PUSH_PULL_RUNS),
            },
          }),
    },
  ];
}

/** (b) A fresh replica catching up 1,000 versions through a link with 20 ms of added RTT. */
async function catchUp(): Promise<SyncBenchRow[]> {
  const clientId = crypto.randomUUID();
  const prefix = `bench/catch-up/${clientId}`;
  const writer = await replica(await storage(prefix), clientId, { maxOperationsPerVersion: 1 });
  await writer.create('tasks', 'seed');
  await writer.sync(); // the snapshot (the chain's first): a fresh replica starts here
  await writer.change(creates(CATCH_UP_VERSIONS, 'v'));
  check((await writer.sync()).pushedVersions === CATCH_UP_VERSIONS, 'writer pushed one version per op');
  const rows: SyncBenchRow[] = [];
  // Defaults (pages of 100 versions, 16 downloads in flight), then the two public knobs raised.
  for (const tuned of [false, true]) {
    const times: number[] = [];
    let requests = 0;
    for (let run = 0; run < CATCH_UP_RUNS; run++) {
      const slow = delayed(CATCH_UP_RTT_MS);
      let counted = 0;
      const counting: FetchLike = (url, init) => {
        counted++;
        return slow(url, init);
      };
      const fresh = await replica(
        await storage(prefix, counting, tuned ? 64 : undefined),
        clientId,
        tuned ? { pullPageSize: 1000 } : {},
      );
      counted = 0; // the probe in connectRemote is not part of the catch-up
      const t0 = performance.now();
      const result = await fresh.sync();
      times.push(performance.now() - t0);
      requests = counted;
      check(
        result.reset === 'bootstrap' && result.pulledVersions === CATCH_UP_VERSIONS,
        'fresh replica caught up',
      );
      check((await fresh.list('tasks')).length === CATCH_UP_VERSIONS + 1, 'fresh replica holds every object');
    }
    rows.push({
      workload: `fresh replica catches up ${CATCH_UP_VERSIONS} versions, +${CATCH_UP_RTT_MS} ms RTT${tuned ? ' (pullPageSize 1000, concurrency 64)' : ' (defaults)'}`,
      medianMs: median(times),
      samples: times.length,
      detail: `${requests} HTTP requests; one round trip per version would take ≥ ${(CATCH_UP_VERSIONS * CATCH_UP_RTT_MS) / 1000} s`,
    });
  }
  return rows;
}

/** (c) A fresh replica bootstrapping 100,000 objects from a snapshot. */
async function bootstrap(): Promise<SyncBenchRow[]> {
  const clientId = crypto.randomUUID();
  const remote = await storage(`bench/bootstrap/${clientId}`);
  const writer = await replica(remote, clientId);
  const ops: Change[] = Array.from({ length: BOOTSTRAP_OBJECTS }, (_, i) => ({
    type: 'create',
    collection: 'tasks',
    id: `o-${String(i).padStart(6, '0')}`,
    properties: { title: `task ${i}`, done: i % 3 === 0 },
  }));
  for (let i = 0; i < ops.length; i += 20_000) await writer.change(ops.slice(i, i + 20_000));
  // The writer's one sync pushes every op and then, as no snapshot exists (urgency high), uploads one.
  const setup = await writer.sync();
  check(setup.snapshotUploaded, 'the writer uploaded a snapshot');
  const times: number[] = [];
  for (let run = 0; run < BOOTSTRAP_RUNS; run++) {
    const fresh = await replica(remote, clientId);
    const t0 = performance.now();
    const result = await fresh.sync();
    times.push(performance.now() - t0);
    check(
      result.reset === 'bootstrap' && result.pulledVersions === 0,
      'fresh replica bootstrapped from the snapshot',
    );
    check((await fresh.list('tasks')).length === BOOTSTRAP_OBJECTS, 'fresh replica holds every object');
  }
  return [
    {
      workload: `fresh replica bootstraps ${BOOTSTRAP_OBJECTS} objects from a snapshot`,
      medianMs: median(times),
      samples: times.length,
      detail: `snapshot built by one writer from ${ops.length} ops (setup ${setup.pushedVersions} versions, not timed)`,
      baseline: {
        label: `raw idb putting ${BOOTSTRAP_OBJECTS} objects in one transaction`,
        ms: await rawIdbPuts(BOOTSTRAP_OBJECTS, BOOTSTRAP_RUNS),
      },
    },
  ];
}

/**
 * A Storage that counts its transactions and the commits the server refused because another
 * replica committed first (the engine then pulls, rebases and pushes again).
 */
function countingConflicts(inner: Storage, counter: { conflicts: number; txns: number }): Storage {
  return {
    async txn(clientId): Promise<StorageTxn> {
      counter.txns++;
      const txn = await inner.txn(clientId);
      return forwardingTxn(txn, {
        commit: async () => {
          try {
            await txn.commit();
          } catch (error) {
            if ((error as { code?: string }).code === 'TRANSACTION_CONFLICT') counter.conflicts++;
            throw error;
          }
        },
      });
    },
  };
}

/** (d) 8 replicas each committing rounds of writes to one chain at the same time. */
async function concurrentWriters(): Promise<SyncBenchRow[]> {
  const times: number[] = [];
  const conflicts: number[] = [];
  const txnsPerVersion: number[] = [];
  let versions = 0;
  for (let run = 0; run < CONCURRENT_RUNS; run++) {
    const clientId = crypto.randomUUID();
    const counter = { conflicts: 0, txns: 0 };
    const prefix = `bench/writers/${clientId}`;
    const seed = await replica(await storage(prefix), clientId);
    await seed.create('tasks', 'seed');
    await seed.sync();
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        const w = await replica(countingConflicts(await storage(prefix), counter), clientId);
        await w.sync();
        return w;
      }),
    );
    counter.conflicts = 0;
    counter.txns = 0;
    let pushed = 0;
    const t0 = performance.now();
    await Promise.all(
      writers.map(async (w, k) => {
        for (let round = 0; round < WRITER_ROUNDS; round++) {
          await w.change(creates(WRITER_OPS_PER_ROUND, `w${k}-r${round}`));
          const result = await w.sync();
          pushed += result.pushedVersions;
        }
      }),
    );
    times.push(performance.now() - t0);
    conflicts.push(counter.conflicts);
    txnsPerVersion.push(counter.txns / pushed);
    versions = pushed;
    check(pushed === WRITERS * WRITER_ROUNDS, `every round pushed one version (${pushed})`);
    for (const w of writers) await w.sync();
    const expected = WRITERS * WRITER_ROUNDS * WRITER_OPS_PER_ROUND + 1;
    for (const w of writers) check((await w.list('tasks')).length === expected, 'the writers converged');
  }
  const ms = median(times);
  return [
    {
      workload: `${WRITERS} replicas commit ${WRITER_ROUNDS} versions each to one chain`,
      medianMs: ms,
      samples: times.length,
      detail: `${((versions / ms) * 1000).toFixed(1)} versions/s, ${(((versions * WRITER_OPS_PER_ROUND) / ms) * 1000).toFixed(0)} ops/s; commits refused (lost CAS race, then rebase + retry): median ${median(conflicts)} per run; remote transactions per committed version: ${median(txnsPerVersion).toFixed(1)}`,
    },
  ];
}

declare global {
  interface Window {
    syncBenchResult?: { rows?: SyncBenchRow[]; error?: string };
  }
}

async function run(): Promise<SyncBenchRow[]> {
  const rows: SyncBenchRow[] = [];
  const workloads = {
    'push-pull': pushPull,
    'catch-up': catchUp,
    bootstrap,
    writers: concurrentWriters,
  };
  const unknown = selected.filter((name) => !(name in workloads));
  if (unknown.length > 0)
    throw new Error(`unknown workload ${unknown.join(', ')}: use ${Object.keys(workloads).join(', ')}`);
  for (const [name, workload] of Object.entries(workloads)) {
    if (selected.length > 0 && !selected.includes(name)) continue;
    rows.push(...(await workload()));
    console.log(JSON.stringify(rows.at(-1)));
  }
  return rows;
}

run().then(
  (rows) => (window.syncBenchResult = { rows }),
  (error: unknown) => (window.syncBenchResult = { error: String((error as Error)?.stack ?? error) }),
);
