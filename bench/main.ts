/**
 * The benchmark page (real Chromium, on-disk profile, driven by bench/run.mjs). Every workload
 * starts on the main thread and crosses to a worker, commits in IndexedDB and comes back:
 * chainsync through its client (comlink + engine), the others through a minimal worker.
 */
import { openStore } from '../src/client/index.js';
import type { PeerLib, PeerRequest } from './peers-worker.js';
import { median } from './stats.js';

export interface BenchRow {
  readonly workload: string;
  readonly lib: string;
  readonly medianMs: number;
  readonly samples: number;
  /** Concurrent-write rows (issue 13 part 1): writes per second at the median time. */
  readonly writesPerSecond?: number;
}

const SINGLE_ROUNDS = 6;
const SINGLE_PER_ROUND = 50;
const BATCH = 10_000;
const BATCH_RUNS = 11;

function value(i: number): Uint8Array {
  const v = new Uint8Array(100);
  for (let j = 0; j < v.length; j++) v[j] = (i * 31 + j) & 0xff;
  return v;
}

function peerWorker() {
  const worker = new Worker(new URL('./peers-worker.ts', import.meta.url), { type: 'module' });
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let next = 0;
  worker.onmessage = (event: MessageEvent<{ id: number; error?: string }>) => {
    const p = pending.get(event.data.id);
    pending.delete(event.data.id);
    if (event.data.error) p?.reject(new Error(event.data.error));
    else p?.resolve();
  };
  return (lib: PeerLib, entries: [string, Uint8Array][]) =>
    new Promise<void>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, lib, entries } satisfies PeerRequest);
    });
}

async function run(): Promise<BenchRow[]> {
  const store = await openStore(`bench-${Date.now()}`);
  const peers = peerWorker();
  const single: Record<string, (key: string, v: Uint8Array) => Promise<unknown>> = {
    idb: (k, v) => peers('idb', [[k, v]]),
    chainsync: (k, v) => store.kv.put(k, v),
    'idb-keyval': (k, v) => peers('idb-keyval', [[k, v]]),
    dexie: (k, v) => peers('dexie', [[k, v]]),
  };
  const batch: Record<string, (entries: [string, Uint8Array][]) => Promise<unknown>> = {
    idb: (e) => peers('idb', e),
    chainsync: (e) => store.kv.batch(e.map(([key, value]) => ({ op: 'put', key, value }))),
    'idb-keyval': (e) => peers('idb-keyval', e),
    dexie: (e) => peers('dexie', e),
  };
  const libs = Object.keys(single);

  // Warm up every path (worker start, database creation, JIT).
  for (const lib of libs) for (let i = 0; i < 20; i++) await single[lib]!(`warm${i}`, value(i));

  // Single writes, interleaved in rounds so drift in the machine's load hits every library alike.
  const singleTimes: Record<string, number[]> = Object.fromEntries(libs.map((l) => [l, []]));
  for (let round = 0; round < SINGLE_ROUNDS; round++) {
    for (const lib of libs) {
      for (let i = 0; i < SINGLE_PER_ROUND; i++) {
        const start = performance.now();
        await single[lib]!(`single/${i}`, value(i));
        singleTimes[lib]!.push(performance.now() - start);
      }
    }
  }

  // The boundary alone: a call that touches no database, through comlink and through raw postMessage.
  const roundTrip: Record<string, () => Promise<unknown>> = {
    idb: () => peers('none', []),
    chainsync: () => store.leadership.isLeader(),
  };
  const tripTimes: Record<string, number[]> = { idb: [], chainsync: [] };
  for (let round = 0; round < SINGLE_ROUNDS; round++) {
    for (const lib of Object.keys(roundTrip)) {
      for (let i = 0; i < SINGLE_PER_ROUND; i++) {
        const start = performance.now();
        await roundTrip[lib]!();
        tripTimes[lib]!.push(performance.now() - start);
      }
    }
  }

  const entries: [string, Uint8Array][] = Array.from({ length: BATCH }, (_, i) => [
    `batch/${String(i).padStart(5, '0')}`,
    value(i),
  ]);
  const batchTimes: Record<string, number[]> = Object.fromEntries(libs.map((l) => [l, []]));
  for (const lib of libs) await batch[lib]!(entries); // warm-up run
  for (let run = 0; run < BATCH_RUNS; run++) {
    for (const lib of libs) {
      const start = performance.now();
      await batch[lib]!(entries);
      batchTimes[lib]!.push(performance.now() - start);
    }
  }
  const concurrent = await concurrentPuts({
    idb: single.idb!,
    'idb (versioned record)': (k, v) => peers('idb (versioned record)', [[k, v]]),
    chainsync: single.chainsync!,
  });
  await store.close();

  return [
    ...concurrent,
    ...libs.map((lib) => ({
      workload: 'single write',
      lib,
      medianMs: median(singleTimes[lib]!),
      samples: singleTimes[lib]!.length,
    })),
    ...Object.keys(tripTimes).map((lib) => ({
      workload: 'round trip, no write',
      lib: lib === 'idb' ? 'idb' : 'chainsync (comlink)',
      medianMs: median(tripTimes[lib]!),
      samples: tripTimes[lib]!.length,
    })),
    ...libs.map((lib) => ({
      workload: `${BATCH} writes, one batch`,
      lib,
      medianMs: median(batchTimes[lib]!),
      samples: batchTimes[lib]!.length,
    })),
  ];
}

// Issue 13 part 1: N concurrent independent puts (group commit), against raw idb with one
// transaction per write, driven the same way (all N calls started at once, then awaited). Raw idb
// runs twice: storing the bare bytes (the baseline) and storing chainsync's versioned record, so
// the N = 1 latency shows what the record's shape costs apart from chainsync's code.
const CONCURRENT: ReadonlyArray<readonly [n: number, runs: number]> = [
  [1, 301],
  [10, 41],
  [100, 21],
  [1_000, 9],
];

async function concurrentPuts(
  libs: Record<string, (key: string, v: Uint8Array) => Promise<unknown>>,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [n, runs] of CONCURRENT) {
    const values = Array.from({ length: n }, (_, i) => value(i));
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(libs).map((l) => [l, []]));
    // Interleaved runs, so drift in the machine's load hits every library alike; the first is warm-up.
    for (let run = 0; run <= runs; run++) {
      for (const [lib, put] of Object.entries(libs)) {
        const start = performance.now();
        await Promise.all(values.map((v, i) => put(`concurrent/${n}/${i}`, v)));
        if (run > 0) times[lib]!.push(performance.now() - start);
      }
    }
    for (const lib of Object.keys(libs)) {
      const medianMs = median(times[lib]!);
      rows.push({
        workload: `${n} concurrent puts`,
        lib,
        medianMs,
        samples: times[lib]!.length,
        writesPerSecond: (n * 1000) / medianMs,
      });
    }
  }
  return rows;
}

declare global {
  interface Window {
    benchResult?: { rows?: BenchRow[]; error?: string };
  }
}

run().then(
  (rows) => (window.benchResult = { rows }),
  (error: unknown) => (window.benchResult = { error: String((error as Error)?.stack ?? error) }),
);
