/**
 * The sync benchmark page (real Chromium, on-disk profile, driven by `npm run bench`). Every
 * replica is a {@link Replica} used directly on the page's main thread with the worker's IndexedDB
 * ReplicaStore (no worker boundary: the figures are the engine's, the store's and the network's),
 * syncing through RemoteStorage over HttpRemoteBackend to the reference server that bench/run.mjs
 * started on 127.0.0.1 (its URL comes in `?server=`).
 */
import type { AtomicRemoteBackend } from '../src/contracts/remote-backend.js';
import type { BlobRef, Change, StoredObject, SyncResult } from '../src/contracts/replica.js';
import type { CompactionPolicy, Storage, StorageTxn } from '../src/contracts/storage.js';
import { forwardingTxn } from '../src/core/forwarding-txn.js';
import { connectRemote } from '../src/remote/http/connect.js';
import type { FetchLike } from '../src/remote/http/options.js';
import { RemoteStorage } from '../src/remote/remote-storage.js';
import { remoteDataSet } from '../src/remote/remote-config.js';
import { RemoteBlobs } from '../src/remote/remote-blobs.js';
import { MemoryBlobStorage } from '../src/memory/memory-blob-storage.js';
import { MemoryReplicaStore } from '../src/memory/memory-replica-store.js';
import { Replica, type ReplicaOptions } from '../src/sync/replica.js';
import { DEFAULT_SNAPSHOT_POLICY } from '../src/sync/snapshots.js';
import { IdbConnection } from '../worker/idb/connection.js';
import { FOLD_BATCH, FOLD_ROWS_PER_CHUNK, IdbReplicaStore } from '../worker/idb/idb-replica-store.js';
import { openDB } from 'idb';
import type { ReplicationOptions } from 'pouchdb-browser';
import { check, median } from './stats.js';
import { dexieBulkPut, pouchPushPull, type PushPullTimes } from './sync-peers.js';

export interface SyncBenchRow {
  readonly workload: string;
  readonly medianMs: number;
  readonly samples: number;
  /** Extra figures (throughput, conflicts, ...), already formatted. */
  readonly detail: string;
  /** Peers measured in the same run, timed as the row is (issue 13 part 3); printed with ratios. */
  readonly peers?: readonly SyncBenchPeer[];
  /** What bounds the workload, measured in the same run: raw `idb` doing the unavoidable writes. */
  readonly baseline?: { readonly label: string; readonly ms: number };
}

/** A library measured beside a chainsync row in the same run, timed as the row is. */
export interface SyncBenchPeer {
  readonly label: string;
  /** Its median. */
  readonly ms: number;
  readonly samples: number;
  readonly detail: string;
}

const PUSH_PULL_OPS = 10_000;
const PUSH_PULL_RUNS = 5;
const CATCH_UP_VERSIONS = 1_000;
const CATCH_UP_RTT_MS = 20;
const CATCH_UP_RUNS = 3;
const BOOTSTRAP_OBJECTS = 100_000;
const BOOTSTRAP_RUNS = 3;
/** Reads and writes against a bootstrapped set (issue 13 part 2): samples of each, alternating layouts. */
const LAYOUT_OBJECTS = 100_000;
const LAYOUT_LIST = 10_000;
const LAYOUT_SINGLE_RUNS = 301;
const LAYOUT_LIST_RUNS = 21;
/** Folds (issue 13 part 2): samples of one background fold per batch size. */
const FOLD_RUNS = 7;
const WRITERS = 8;
const WRITER_ROUNDS = 10;
const WRITER_OPS_PER_ROUND = 10;
const CONCURRENT_RUNS = 3;
const params = new URL(location.href).searchParams;
/**
 * The compaction workload (issue 12): versions of updates to the same objects, and blobs. Versions:
 * 1,000 unless `npm run bench -- sync compaction --compaction-versions=N` says otherwise. */
const COMPACTION_VERSIONS = Number(params.get('compaction-versions') ?? 1_000);
const COMPACTION_OBJECTS = 100;
const COMPACTION_BLOBS = 200;
const COMPACTION_BLOB_BYTES = 4_096;
const COMPACTION_BEHIND = 10;
const COMPACTION_RUNS = 3;
/** A small retention: 100 commits, and one day (the writer's clock moves an hour per version). */
const COMPACTION_POLICY: CompactionPolicy = { keepCommits: 100, keepDays: 1 };
const HOUR_MS = 3_600_000;
/** Never snapshot on its own: the workloads decide what the chain looks like. */
const NO_SNAPSHOTS = { versions: 1e12, days: 1e12 };

const serverUrl = params.get('server');
/** `?workload=catch-up&workload=...` runs only those; all by default. */
const selected = params.getAll('workload');
if (!serverUrl) throw new Error('open this page with ?server=<reference server URL>');
/** The CouchDB-protocol server PouchDB replicates through in the push-pull workload. */
const pouchUrl = params.get('pouchdb');

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

/** `count` objects as a replica stores them (key path `[collection, id]`): what the baselines put. */
function storedObjects(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    collection: 'tasks',
    id: `o-${String(i).padStart(6, '0')}`,
    properties: { title: `task ${i}`, done: i % 3 === 0 },
  }));
}

/**
 * Raw `idb`: `count` objects put into a fresh object store in one readwrite transaction, the
 * writes a replica cannot avoid when it takes in `count` new objects. With `dexie`, Dexie's
 * `bulkPut` of the same objects too (a peer, issue 13 part 3), the two alternating run by run so
 * that drift in the machine's load hits both alike. Medians of `runs`.
 */
async function storePuts(
  count: number,
  runs: number,
  dexie = false,
): Promise<{ idb: number; dexie: readonly number[] }> {
  const times: number[] = [];
  const dexieTimes: number[] = [];
  for (let run = 0; run < runs; run++) {
    const name = `chainsync-sync-bench-raw-${Date.now()}-${run}`;
    const db = await openDB(name, 1, {
      upgrade: (d) => d.createObjectStore('objects', { keyPath: ['collection', 'id'] }),
    });
    const rows = storedObjects(count);
    const t0 = performance.now();
    const tx = db.transaction('objects', 'readwrite', { durability: 'relaxed' });
    for (const row of rows) void tx.store.put(row);
    await tx.done;
    times.push(performance.now() - t0);
    db.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    indexedDB.deleteDatabase(name);
    if (dexie) dexieTimes.push(await dexieBulkPut(storedObjects(count)));
  }
  return { idb: median(times), dexie: dexieTimes };
}

function creates(n: number, tag: string): Change[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'create' as const,
    collection: 'tasks',
    id: `${tag}-${String(i).padStart(6, '0')}`,
  }));
}

/** PouchDB's push-pull, measured beside chainsync's (issue 13 part 3): its defaults, and larger batches. */
const POUCH_PUSH_PULL: ReadonlyArray<{ readonly label: string; readonly options: ReplicationOptions }> = [
  { label: 'PouchDB, one-shot replications (defaults: batch_size 100)', options: {} },
  { label: 'PouchDB, one-shot replications, batch_size 1000', options: { batch_size: 1_000 } },
];

const pushPullTotal = (t: PushPullTimes) => t.push + t.pull;
const pushPullSplit = (times: readonly PushPullTimes[]) =>
  `push ${median(times.map((t) => t.push)).toFixed(0)} ms, pull ${median(times.map((t) => t.pull)).toFixed(0)} ms`;

/**
 * (a) 10,000 operations pushed by A and pulled by B, B already past A's first version: with the
 * IndexedDB store, beside PouchDB doing the same through a CouchDB-protocol server (runs
 * alternating, so that drift in the machine's load hits both alike), then with
 * MemoryReplicaStore to show what the local store costs. The first run of each is warm-up.
 */
async function pushPull(): Promise<SyncBenchRow[]> {
  if (!pouchUrl) throw new Error('push-pull: open this page with ?pouchdb=<CouchDB-protocol server URL>');
  const idb: PushPullTimes[] = [];
  const pouch = POUCH_PUSH_PULL.map((): PushPullTimes[] => []);
  for (let run = 0; run < PUSH_PULL_RUNS + 1; run++) {
    const chainsync = await chainsyncPushPull(false);
    const peers: PushPullTimes[] = [];
    for (const { options } of POUCH_PUSH_PULL)
      peers.push(await pouchPushPull(pouchUrl, PUSH_PULL_OPS, options));
    if (run === 0) continue;
    idb.push(chainsync);
    peers.forEach((times, k) => pouch[k]!.push(times));
  }
  const memory: PushPullTimes[] = [];
  for (let run = 0; run < PUSH_PULL_RUNS + 1; run++) {
    const times = await chainsyncPushPull(true);
    if (run > 0) memory.push(times);
  }
  const row = (times: readonly PushPullTimes[], store: string): SyncBenchRow => ({
    workload: `${PUSH_PULL_OPS} ops: A pushes + B pulls (replicas on ${store})`,
    medianMs: median(times.map(pushPullTotal)),
    samples: times.length,
    detail: `${pushPullSplit(times)} (versions of 1000 ops)`,
  });
  return [
    {
      ...row(idb, 'IndexedDB'),
      baseline: {
        label: `raw idb putting B's ${PUSH_PULL_OPS} new objects in one transaction`,
        ms: (await storePuts(PUSH_PULL_OPS, PUSH_PULL_RUNS)).idb,
      },
      peers: POUCH_PUSH_PULL.map(({ label }, k) => ({
        label: `${label}: A replicates ${PUSH_PULL_OPS} documents to express-pouchdb, B from it`,
        ms: median(pouch[k]!.map(pushPullTotal)),
        samples: pouch[k]!.length,
        detail: pushPullSplit(pouch[k]!),
      })),
    },
    row(memory, 'MemoryReplicaStore'),
  ];
}

/** One chainsync push-pull: A's sync (push), then B's (pull); A's local `change` is not timed. */
async function chainsyncPushPull(inMemory: boolean): Promise<PushPullTimes> {
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
  return { push: t1 - t0, pull: t2 - t1 };
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
  const baselines = await storePuts(BOOTSTRAP_OBJECTS, BOOTSTRAP_RUNS, true);
  const bootstrapMs = median(times);
  return [
    {
      workload: `fresh replica bootstraps ${BOOTSTRAP_OBJECTS} objects from a snapshot`,
      medianMs: bootstrapMs,
      samples: times.length,
      detail: `snapshot built by one writer from ${ops.length} ops (setup ${setup.pushedVersions} versions, not timed); samples ${times.map((ms) => ms.toFixed(0)).join(', ')} ms; raw idb / chainsync ${(baselines.idb / bootstrapMs).toFixed(2)}x`,
      baseline: {
        label: `raw idb putting ${BOOTSTRAP_OBJECTS} objects in one transaction`,
        ms: baselines.idb,
      },
      peers: [
        {
          label: `Dexie bulkPut of the same ${BOOTSTRAP_OBJECTS} objects (one call, durability relaxed as raw idb's)`,
          ms: median(baselines.dexie),
          samples: baselines.dexie.length,
          detail: `samples ${baselines.dexie.map((ms) => ms.toFixed(0)).join(', ')} ms, alternating with raw idb's`,
        },
      ],
    },
    ...(await layouts()),
  ];
}

/** The data set of the layout rows: `LAYOUT_LIST` objects in `list`, the rest in `tasks`. */
function layoutObjects(): StoredObject[] {
  return Array.from({ length: LAYOUT_OBJECTS }, (_, i) => ({
    collection: i < LAYOUT_LIST ? 'list' : 'tasks',
    id: `o-${String(i).padStart(6, '0')}`,
    properties: { title: `task ${i}`, done: i % 3 === 0 },
  }));
}

/**
 * (c') Issue 13 part 2: what the chunked layout costs the operations that follow a bootstrap. The
 * same 100,000 objects in three databases: the replica store after a bootstrap (objects in chunks,
 * the new layout), the replica store with every object written one by one (one record per object,
 * today's layout, now the overlay), and raw `idb` with one record per object (what today's store
 * did, without the store's code: the baseline). Each sample runs the operation once on each, in
 * turn, so drift in the machine's load hits all three alike.
 */
async function layouts(): Promise<SyncBenchRow[]> {
  const objects = layoutObjects();
  const chunked = new IdbReplicaStore(new IdbConnection(`chainsync-layout-chunks-${Date.now()}`));
  await chunked.commit({ clearObjects: true, putObjects: objects });
  // Never folded: its 100,000 overlay rows stay today's layout for the whole run.
  const perObject = new IdbReplicaStore(new IdbConnection(`chainsync-layout-objects-${Date.now()}`), {
    foldThreshold: Infinity,
  });
  await perObject.commit({ putObjects: objects });
  const rawName = `chainsync-layout-raw-${Date.now()}`;
  const raw = await openDB(rawName, 1, {
    upgrade: (d) => d.createObjectStore('objects', { keyPath: ['collection', 'id'] }),
  });
  const load = raw.transaction('objects', 'readwrite', { durability: 'relaxed' });
  for (const o of objects) void load.store.put(o);
  await load.done;
  const listRange = IDBKeyRange.bound(['list'], ['list', []]);
  for (const store of [chunked, perObject]) {
    check((await store.listObjects('list')).length === LAYOUT_LIST, 'the store lists the collection');
  }

  type Op = [chunks: () => Promise<unknown>, objects: () => Promise<unknown>, raw: () => Promise<unknown>];
  const pick = (i: number) => objects[(i * 7919) % LAYOUT_OBJECTS]!;
  const ops: Record<string, { runs: number; op: (i: number) => Op; what: string }> = {
    'read one object': {
      runs: LAYOUT_SINGLE_RUNS,
      what: 'one get of one record',
      op: (i) => {
        const o = pick(i);
        return [
          () => chunked.getObjects([o]),
          () => perObject.getObjects([o]),
          () => raw.get('objects', [o.collection, o.id]),
        ];
      },
    },
    [`list a collection of ${LAYOUT_LIST}`]: {
      runs: LAYOUT_LIST_RUNS,
      what: `one getAll of the collection's ${LAYOUT_LIST} records`,
      op: () => [
        () => chunked.listObjects('list'),
        () => perObject.listObjects('list'),
        () => raw.getAll('objects', listRange),
      ],
    },
    'single local write (one object)': {
      runs: LAYOUT_SINGLE_RUNS,
      what: 'one put in one readwrite transaction (durability relaxed)',
      op: (i) => {
        const o = { ...pick(i), properties: { title: `edit ${i}`, done: true } };
        return [
          () => chunked.commit({ putObjects: [o] }),
          () => perObject.commit({ putObjects: [o] }),
          async () => {
            const tx = raw.transaction('objects', 'readwrite', { durability: 'relaxed' });
            void tx.store.put(o);
            await tx.done;
          },
        ];
      },
    },
  };
  const rows: SyncBenchRow[] = [];
  for (const [name, { runs, op, what }] of Object.entries(ops)) {
    const times: [number[], number[], number[]] = [[], [], []];
    for (let i = 0; i < runs; i++) {
      const fns = op(i);
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        await fns[k]!();
        times[k]!.push(performance.now() - t0);
      }
    }
    const [chunks, perObjectMs, rawMs] = times.map(median) as [number, number, number];
    rows.push({
      workload: `${name} after a bootstrap of ${LAYOUT_OBJECTS} objects, chunked layout`,
      medianMs: chunks,
      samples: runs,
      detail: `today's layout (one record per object) through the same store: median ${perObjectMs.toFixed(3)} ms -> chunked / today's ${(chunks / perObjectMs).toFixed(2)}`,
      baseline: { label: `raw idb on today's layout: ${what}`, ms: rawMs },
    });
  }
  raw.close();
  return rows;
}

/**
 * (c'') Issue 13 part 2: what a background fold costs, as the store's policy makes it. After a
 * bootstrap of `LAYOUT_OBJECTS` objects in chunks, edits to objects spread over the whole set fill
 * the overlay to the fold bound (`FOLD_ROWS_PER_CHUNK` rows per chunk record) and one batch beyond;
 * each sample times one fold of a batch (the first rows in key order, as a background fold takes
 * them; background folds are off, so nothing else folds), after edits that refill the overlay
 * (not timed). A fold holds the store's other reads and writes back while it runs. Rows: the
 * default batch (`FOLD_BATCH`) and four times it (the default until these figures). The baseline,
 * alternating with it: raw `idb` putting as many records in one transaction.
 */
async function folds(): Promise<SyncBenchRow[]> {
  const objects = layoutObjects();
  const name = `chainsync-fold-${Date.now()}`;
  const store = new IdbReplicaStore(new IdbConnection(name), { foldThreshold: Infinity });
  await store.commit({ clearObjects: true, putObjects: objects });
  const db = await openDB(name);
  const chunkRecords = await db.count('replicaChunks');
  db.close();
  const raw = await openDB(`chainsync-fold-raw-${Date.now()}`, 1, {
    upgrade: (d) => d.createObjectStore('objects', { keyPath: ['collection', 'id'] }),
  });
  const load = raw.transaction('objects', 'readwrite', { durability: 'relaxed' });
  for (const o of objects) void load.store.put(o);
  await load.done;

  // Each edit is to an object not edited before (a step coprime to the set's size), so that the
  // overlay grows by one row per edit.
  let edited = 0;
  const edit = async (count: number): Promise<StoredObject[]> => {
    const edits = Array.from({ length: count }, () => {
      const o = objects[(edited++ * 7_919) % LAYOUT_OBJECTS]!;
      return { ...o, properties: { ...o.properties, title: `edit ${edited}` } };
    });
    for (let i = 0; i < edits.length; i += 1_000)
      await store.commit({ putObjects: edits.slice(i, i + 1_000) });
    return edits;
  };
  const bound = FOLD_ROWS_PER_CHUNK * chunkRecords;
  await edit(bound);
  const rows: SyncBenchRow[] = [];
  for (const batch of [FOLD_BATCH, FOLD_BATCH * 4]) {
    const foldMs: number[] = [];
    const rawMs: number[] = [];
    let edits: StoredObject[] = [];
    for (let run = 0; run < FOLD_RUNS; run++) {
      edits = await edit(batch);
      let t0 = performance.now();
      const left = await store.fold(batch);
      foldMs.push(performance.now() - t0);
      check(left === bound, `a fold of ${batch} rows leaves the bound, ${bound} rows (${left} left)`);
      t0 = performance.now();
      const tx = raw.transaction('objects', 'readwrite', { durability: 'relaxed' });
      for (const o of edits) void tx.store.put(o);
      await tx.done;
      rawMs.push(performance.now() - t0);
    }
    const [read] = await store.getObjects([edits[0]!]);
    check(JSON.stringify(read) === JSON.stringify(edits[0]!.properties), 'an edit reads back');
    rows.push({
      workload: `background fold of ${batch} overlay rows (of ${bound + batch}: edits spread over ${LAYOUT_OBJECTS} objects in ${chunkRecords} chunks)`,
      medianMs: median(foldMs),
      samples: FOLD_RUNS,
      detail: `the store's other reads and writes wait while it runs; samples ${foldMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      baseline: { label: `raw idb: put ${batch} records in one transaction`, ms: median(rawMs) },
    });
  }
  raw.close();
  return rows;
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

/** Every object under `prefix` and its size in bytes: LIST gives names only, so each is downloaded. */
async function serverObjects(backend: AtomicRemoteBackend, prefix: string): Promise<Map<string, number>> {
  if (!backend.list) throw new Error('the compaction workload counts objects: connect with LIST');
  const keys = await backend.list(prefix);
  const sizes = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(
      keys.slice(i, i + 32).map(async (key) => {
        const data = await backend.download(key);
        if (data) sizes.set(key, data.length);
      }),
    );
  }
  return sizes;
}

/** Objects and bytes of the entries of `sizes` whose key (after `dir`) matches `kind`. */
function usage(
  sizes: ReadonlyMap<string, number>,
  dir: string,
  kind: RegExp,
): { objects: number; bytes: number } {
  let objects = 0;
  let bytes = 0;
  for (const [key, size] of sizes) {
    if (!key.startsWith(dir) || !kind.test(key.slice(dir.length))) continue;
    objects++;
    bytes += size;
  }
  return { objects, bytes };
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;

/** What one chain of the compaction workload left on the server, and its replicas still to time. */
interface CompactionChain {
  readonly compaction: boolean;
  readonly writeMs: number;
  readonly syncs: number;
  readonly compactionErrors: number;
  readonly floor: number;
  /** Replicas that stopped `COMPACTION_BEHIND` versions before the end. */
  readonly behind: Replica[];
  /** Opens a fresh replica of the chain. */
  readonly fresh: () => Promise<Replica>;
  readonly expected: { tasks: number; files: number };
  readonly server: {
    readonly total: { objects: number; bytes: number };
    readonly chain: { objects: number; bytes: number };
    readonly blobs: { objects: number; bytes: number };
    readonly liveBlobs: { objects: number; bytes: number };
    /** The head's snapshot, and the records and indexes of the commits at or above the floor. */
    readonly snapshotBytes: number;
    readonly windowBytes: number;
    readonly kinds: string;
  };
}

/**
 * One writer commits COMPACTION_VERSIONS versions of COMPACTION_OBJECTS updates (every object's
 * `n`), its clock an hour further at each, with the default snapshot policy (a snapshot every 50
 * versions); the first COMPACTION_BLOBS versions also create a `files` object holding a blob of
 * its own, and later versions delete every second one (half the blobs dereferenced). With
 * `compaction`, the writer compacts behind each snapshot it uploads (COMPACTION_POLICY).
 */
async function compactionChain(compaction: boolean): Promise<CompactionChain> {
  const clientId = crypto.randomUUID();
  const prefix = `bench/compaction/${compaction ? 'on' : 'off'}-${clientId}`;
  const backend = await connectRemote({ baseUrl: serverUrl!, list: 'json' });
  const dataSet = remoteDataSet(backend, prefix);
  // Injected: the engine reads the time for snapshot ages and compaction from `clock` only, and
  // remote blob GC measures blob ages (the server's Last-Modified, real time) against `now`: the
  // workload's hours pass for both.
  let now = Date.now();
  const remoteBlobs = new RemoteBlobs(backend, { prefix: `${prefix}/blobs`, now: () => now });
  const shared = { kv: dataSet.kv, remoteBlobs };
  const open = (extra: Partial<ReplicaOptions> = {}, inMemory = false) =>
    replica(dataSet.storage, clientId, { ...shared, blobs: new MemoryBlobStorage(), ...extra }, inMemory);
  // The writer keeps its state in memory: its 1,000 syncs are set-up, not what is measured, and
  // on IndexedDB they took about 0.3-0.4 s each here (12 minutes a chain).
  const writer = await open(
    {
      clock: () => now,
      snapshotPolicy: DEFAULT_SNAPSHOT_POLICY,
      ...(compaction ? { compaction: COMPACTION_POLICY } : {}),
    },
    true,
  );
  await writer.change(
    Array.from({ length: COMPACTION_OBJECTS }, (_, i) => ({
      type: 'create' as const,
      collection: 'tasks',
      id: `o-${i}`,
      properties: { n: 0 },
    })),
  );
  await writer.sync();
  const blobsFrom = Math.floor(COMPACTION_VERSIONS / 2);
  const behind: Replica[] = [];
  let syncs = 0;
  let compactionErrors = 0;
  let last: SyncResult | null = null;
  const t0 = performance.now();
  for (let v = 1; v <= COMPACTION_VERSIONS; v++) {
    now += HOUR_MS;
    const changes: Change[] = Array.from({ length: COMPACTION_OBJECTS }, (_, i) => ({
      type: 'update' as const,
      collection: 'tasks',
      id: `o-${i}`,
      properties: { n: v },
    }));
    if (v <= COMPACTION_BLOBS) {
      const data = crypto.getRandomValues(new Uint8Array(COMPACTION_BLOB_BYTES));
      const ref: BlobRef = await writer.putBlob(data);
      changes.push({
        type: 'create',
        collection: 'files',
        id: `f-${v}`,
        properties: { content: ref as never },
      });
    }
    const dropped = v - blobsFrom;
    if (dropped >= 1 && dropped <= COMPACTION_BLOBS / 2)
      changes.push({ type: 'delete', collection: 'files', id: `f-${2 * dropped}` });
    await writer.change(changes);
    last = await writer.sync();
    syncs++;
    check(last.pushedVersions === 1, `version ${v} pushed as one version`);
    if (last.compaction && 'error' in last.compaction) compactionErrors++;
    if (v === COMPACTION_VERSIONS - COMPACTION_BEHIND) {
      for (let r = 0; r < COMPACTION_RUNS; r++) {
        const b = await open();
        await b.sync();
        behind.push(b);
      }
    }
  }
  // The writer's next syncs finish what the last snapshot's compaction left (bounded calls).
  while (last?.compaction && ('error' in last.compaction || last.compaction.report.more)) {
    check(syncs < COMPACTION_VERSIONS * 2, 'compaction finished');
    last = await writer.sync();
    syncs++;
  }
  const writeMs = performance.now() - t0;
  const floor = last?.compaction && 'report' in last.compaction ? last.compaction.report.floor : 1;

  const sizes = await serverObjects(backend, `${prefix}/`);
  const dir = `${prefix}/chain/${clientId}/`;
  const liveFiles = (await writer.list('files')).map(
    (o) => (o.properties.content as unknown as BlobRef).$blob,
  );
  const live = new Set(liveFiles.map((id) => `${prefix}/blobs/${id}`));
  const liveBlobs = { objects: 0, bytes: 0 };
  for (const [key, size] of sizes) {
    if (!live.has(key)) continue;
    liveBlobs.objects++;
    liveBlobs.bytes += size;
  }
  const head = await (await dataSet.storage.txn(clientId)).getClient();
  check(head?.snapshot != null, 'the chain has a snapshot');
  const snapshot = await (await dataSet.storage.txn(clientId)).getSnapshotData(head!.snapshot!.versionId);
  const kinds = ['c', 'i', 'p', 'k', 's']
    .map((k) => {
      const u = usage(sizes, dir, new RegExp(`^${k}/`));
      return `${k}/ ${u.objects} (${kB(u.bytes)})`;
    })
    .join(', ');
  return {
    compaction,
    writeMs,
    syncs,
    compactionErrors,
    floor,
    behind,
    fresh: () => open(),
    expected: { tasks: COMPACTION_OBJECTS, files: liveFiles.length },
    server: {
      total: usage(sizes, `${prefix}/`, /^/),
      chain: usage(sizes, dir, /^/),
      blobs: usage(sizes, `${prefix}/blobs/`, /^/),
      liveBlobs,
      snapshotBytes: snapshot?.length ?? 0,
      windowBytes: usage(sizes, dir, /^(c|i|p)\/|^client$/).bytes,
      kinds,
    },
  };
}

/** A replica holds the writer's final state: every object at version COMPACTION_VERSIONS. */
async function checkFinalState(r: Replica, expected: CompactionChain['expected'], who: string) {
  const tasks = await r.list('tasks');
  check(tasks.length === expected.tasks, `${who} holds ${expected.tasks} tasks`);
  check(
    tasks.every((t) => t.properties.n === COMPACTION_VERSIONS),
    `${who}: every task at n=${COMPACTION_VERSIONS}`,
  );
  check((await r.list('files')).length === expected.files, `${who} holds the live files`);
}

/**
 * (e) Issue 12: the same chain written with compaction off and on; what the server holds, and
 * how long a fresh replica's bootstrap and a 10-versions-behind replica's catch-up take on each.
 */
async function compactionWorkload(): Promise<SyncBenchRow[]> {
  const off = await compactionChain(false);
  const on = await compactionChain(true);
  const bootstrapMs = new Map<CompactionChain, number[]>([
    [off, []],
    [on, []],
  ]);
  const catchUpMs = new Map<CompactionChain, number[]>([
    [off, []],
    [on, []],
  ]);
  // Alternate off and on, so that load from other work falls on both alike.
  for (let run = 0; run < COMPACTION_RUNS; run++) {
    for (const chain of [off, on]) {
      const fresh = await chain.fresh();
      const t0 = performance.now();
      const result = await fresh.sync();
      bootstrapMs.get(chain)!.push(performance.now() - t0);
      check(result.reset === 'bootstrap', 'the fresh replica bootstrapped');
      await checkFinalState(fresh, chain.expected, 'a fresh replica');
    }
  }
  for (let run = 0; run < COMPACTION_RUNS; run++) {
    for (const chain of [off, on]) {
      const b = chain.behind[run]!;
      const t0 = performance.now();
      const result = await b.sync();
      catchUpMs.get(chain)!.push(performance.now() - t0);
      check(
        result.reset === null && result.pulledVersions === COMPACTION_BEHIND,
        `the replica behind pulled ${COMPACTION_BEHIND} versions (${result.pulledVersions}, reset ${result.reset})`,
      );
      await checkFinalState(b, chain.expected, 'a replica behind');
    }
  }
  const timedRow = (what: string, times: Map<CompactionChain, number[]>): SyncBenchRow => ({
    workload: `compaction: ${what}, compaction on`,
    medianMs: median(times.get(on)!),
    samples: COMPACTION_RUNS,
    detail: `samples ${times
      .get(on)!
      .map((ms) => ms.toFixed(0))
      .join(', ')} ms; compaction off: ${times
      .get(off)!
      .map((ms) => ms.toFixed(0))
      .join(', ')} ms`,
    baseline: { label: 'the same with compaction off (median)', ms: median(times.get(off)!) },
  });
  const s = on.server;
  const ideal = s.snapshotBytes + s.windowBytes + s.liveBlobs.bytes;
  const describe = (c: CompactionChain) =>
    `${c.server.total.objects} objects, ${kB(c.server.total.bytes)} (chain ${c.server.chain.objects} / ${kB(c.server.chain.bytes)}: ${c.server.kinds}; blobs ${c.server.blobs.objects} / ${kB(c.server.blobs.bytes)}, of which live ${c.server.liveBlobs.objects} / ${kB(c.server.liveBlobs.bytes)})`;
  const setup = `${COMPACTION_VERSIONS} versions of ${COMPACTION_OBJECTS} updates, ${COMPACTION_BLOBS} blobs of ${COMPACTION_BLOB_BYTES} B, half deleted`;
  const policy = `keepCommits ${COMPACTION_POLICY.keepCommits}, keepDays ${COMPACTION_POLICY.keepDays}`;
  return [
    {
      workload: `compaction: server after ${setup}, compaction off`,
      medianMs: off.writeMs,
      samples: 1,
      detail: `${describe(off)}; ${off.syncs} syncs; the time is the write phase`,
    },
    {
      workload: `compaction: server after ${setup}, compaction on (${policy})`,
      medianMs: on.writeMs,
      samples: 1,
      detail: [
        `${describe(on)}; ${on.syncs} syncs, ${on.compactionErrors} failed compaction calls, floor at commit ${on.floor}`,
        `server bytes on/off: ${(s.total.bytes / off.server.total.bytes).toFixed(3)}, objects on/off: ${(s.total.objects / off.server.total.objects).toFixed(3)}`,
        `goal: server bytes ${kB(s.total.bytes)} / (snapshot ${kB(s.snapshotBytes)} + retention window ${kB(s.windowBytes)} + live blobs ${kB(s.liveBlobs.bytes)} = ${kB(ideal)}) = ${(s.total.bytes / ideal).toFixed(2)}x (goal: within 2x); chain alone ${kB(s.chain.bytes)} / ${kB(s.snapshotBytes + s.windowBytes)} = ${(s.chain.bytes / (s.snapshotBytes + s.windowBytes)).toFixed(2)}x`,
      ].join('\n  '),
      baseline: { label: 'the write phase with compaction off', ms: off.writeMs },
    },
    timedRow(`fresh replica bootstraps`, bootstrapMs),
    timedRow(`replica ${COMPACTION_BEHIND} versions behind catches up`, catchUpMs),
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
    compaction: compactionWorkload,
    fold: folds,
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
