// @ts-check
/* global console, window, document, setTimeout, clearTimeout, URLSearchParams */
/**
 * The live-sync benchmark (issue 11), run by `npm run bench -- sync propagation` and
 * `npm run bench -- sync idle`:
 *
 * - **propagation**: replica A writes, replica B's change handler fires; A and B are separate
 *   browsers (each its own on-disk profile: two devices), default schedules. Writes are sequential
 *   (write, wait for B to see it, next write). Rows: chainsync through the reference server with the
 *   change signal, the same with A calling `sync()` after each write (no 250 ms debounce), the same
 *   server with the signal off (`changeSignal: false`: the watcher polls), Ceph RGW when this
 *   machine has it, and PouchDB's live replication against express-pouchdb — all in one run.
 * - **idle**: requests per minute one idle replica costs, counted at the server, for the signal and
 *   for polling, with its page focused, visible but not focused, and hidden (PouchDB's live pull
 *   alongside, as the baseline).
 *
 * No thresholds: the figures are for people (bench/README.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { chromium } from 'playwright';
import { startPouchServer } from './pouchdb-server.mjs';
import { countingProxy, RequestCounts } from './request-counter.mjs';

/** Writes measured per row, after {@link WARM_UP} that are not. */
export const DEFAULT_WRITES = 200;
const WARM_UP = 5;
/** Minutes each idle replica is counted for. */
export const DEFAULT_IDLE_MINUTES = 5;
/** The watcher's poll interval while the page is focused (docs/live-sync.md). */
const FOCUSED_POLL_MS = 5_000;
/** Longer than the default schedule's 250 ms debounce: each write is the first of its window. */
const LONE_WRITE_PAUSE_MS = 300;
/** A write B has not seen after this long fails the run (the default interval sync is 30 s). */
const SEEN_TIMEOUT_MS = 120_000;

/**
 * @typedef {{
 *   origin: string,
 *   chromiumPath: string,
 *   chromiumArgs: string[],
 *   startServer: (options: Record<string, unknown>) => Promise<{ url: string, heldRequests: number, close(): Promise<void> }>,
 *   interop: {
 *     requireCeph(): Promise<string | null>,
 *     startCeph(): Promise<{ endpoint: string, stop(): Promise<void> }>,
 *     CEPH_CREDENTIALS: { accessKeyId: string, secretAccessKey: string, region: string },
 *   },
 * }} LiveContext
 */

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with `promise`, or fails after `ms` saying `what` (a bench must not hang forever).
 * @template T @param {Promise<T>} promise @param {number} ms @param {string} what @returns {Promise<T>}
 */
async function within(promise, ms, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms);
  });
  try {
    return /** @type {T} */ (await Promise.race([promise, timeout]));
  } finally {
    clearTimeout(timer);
  }
}

/** A browser of its own (an on-disk profile): one device. @param {LiveContext} live */
async function device(live) {
  const profile = await mkdtemp(join(tmpdir(), 'chainsync-live-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: live.chromiumPath,
    args: live.chromiumArgs,
    headless: true,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens bench/live.html in `context` with `params`; resolves once its replica is open.
 * @param {LiveContext} live @param {import('playwright').BrowserContext} context
 * @param {Record<string, string>} params
 */
async function replicaPage(live, context, params) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page ${params.name}: error:`, error));
  page.on('console', (message) => {
    // Not Chromium's line for every 404 / 304 / 412: the protocols' ordinary answers.
    if (
      (message.type() === 'error' || message.type() === 'warning') &&
      !message.text().startsWith('Failed to load resource')
    )
      console.error(`page ${params.name}: ${message.text()}`);
  });
  await page.goto(`${live.origin}/bench/live.html?${new URLSearchParams(params).toString()}`);
  await page.waitForFunction(
    () => window.liveBench !== undefined || window.liveBenchError !== undefined,
    undefined,
    {
      timeout: 120_000,
    },
  );
  const error = await page.evaluate(() => window.liveBenchError);
  if (error) throw new Error(`replica page ${params.name} failed to open: ${error}`);
  return page;
}

/**
 * Waits until a chainsync page leads its data set, has synced and has nothing left to push.
 * @param {import('playwright').Page} page
 */
async function synced(page) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status =
      /** @type {{ leader: boolean, lastSyncAt: number | null, syncing: boolean, pending: number }} */ (
        await page.evaluate(() => window.liveBench?.status())
      );
    if (status.leader && status.lastSyncAt !== null && !status.syncing && status.pending === 0) return;
    if (Date.now() > deadline) throw new Error(`the replica did not sync: ${JSON.stringify(status)}`);
    await sleep(100);
  }
}

/**
 * One row of the propagation table: `writes` sequential writes by A, each timed until B's handler saw it.
 * @param {LiveContext} live
 * @param {{ a: import('playwright').BrowserContext, b: import('playwright').BrowserContext }} devices
 * @param {{ label: string, lib: 'chainsync' | 'pouchdb', server: string, set: string, s3?: string, sync?: boolean, gapMs?: number, pauseMs?: number, armed?: () => Promise<void> }} row
 * @param {number} writes
 */
async function propagationRow(live, devices, row, writes) {
  const common = { lib: row.lib, server: row.server, set: row.set, ...(row.s3 ? { s3: row.s3 } : {}) };
  const a = await replicaPage(live, devices.a, { ...common, name: `a-${row.set}`, role: 'writer' });
  const b = await replicaPage(live, devices.b, { ...common, name: `b-${row.set}`, role: 'reader' });
  try {
    if (row.lib === 'chainsync') await Promise.all([synced(a), synced(b)]);
    await row.armed?.();
    const focus = await b.evaluate(() => `${document.visibilityState}, hasFocus ${document.hasFocus()}`);
    /** Write → B's handler; write → A's sync done (pushed); pushed → B's handler (may be < 0: B can pull before A's status says pushed). */
    /** @type {number[]} */
    const latencies = [];
    /** @type {number[]} */
    const pushing = [];
    /** @type {number[]} */
    const arriving = [];
    for (let i = 0; i < WARM_UP + writes; i++) {
      const id = `w-${String(i).padStart(4, '0')}`;
      // Polling: a write right after B's poll saw the previous one would always wait a whole
      // interval (the writes would lock to the poll's phase); users write at random moments.
      if (row.gapMs) await sleep(Math.random() * row.gapMs);
      // Lone writes: none in A's debounce window before it (a burst's first write leaves at once).
      if (row.pauseMs) await sleep(row.pauseMs);
      await b.evaluate((id) => window.liveBench?.expect(id), id);
      const wrote = await a.evaluate(
        ([id, sync]) => window.liveBench?.write(id, { sync }),
        /** @type {const} */ ([id, row.sync === true]),
      );
      const seen = await within(
        b.evaluate((id) => window.liveBench?.seen(id), id),
        SEEN_TIMEOUT_MS,
        `${row.label}: B seeing ${id}`,
      );
      const pushed = await within(
        a.evaluate((id) => window.liveBench?.pushed(id), id),
        SEEN_TIMEOUT_MS,
        `${row.label}: A pushing ${id}`,
      );
      if (wrote === undefined || seen === undefined || pushed === undefined)
        throw new Error(`${row.label}: the page lost its replica`);
      if (i >= WARM_UP) {
        latencies.push(seen - wrote);
        pushing.push(pushed - wrote);
        arriving.push(seen - pushed);
      }
      if (i >= WARM_UP && (i + 1 - WARM_UP) % 50 === 0)
        console.log(
          `  ${row.label}: ${i + 1 - WARM_UP} writes, p50 so far ${quantile(latencies, 0.5).toFixed(0)} ms`,
        );
    }
    return {
      label: row.label,
      p50: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      max: Math.max(...latencies),
      pushedP50: quantile(pushing, 0.5),
      arrivedP50: quantile(arriving, 0.5),
      writes: latencies.length,
      page: focus,
    };
  } finally {
    await a.evaluate(() => window.liveBench?.close()).catch(() => undefined);
    await b.evaluate(() => window.liveBench?.close()).catch(() => undefined);
    await a.close();
    await b.close();
  }
}

/**
 * Resolves once `server` holds `count` requests (both replicas' watchers armed on the signal).
 * @param {{ heldRequests: number }} server @param {number} count
 */
async function held(server, count) {
  const deadline = Date.now() + 60_000;
  while (server.heldRequests < count) {
    if (Date.now() > deadline)
      throw new Error(
        `the signal server holds ${server.heldRequests} requests, not ${count}: are the watchers on?`,
      );
    await sleep(50);
  }
}

/**
 * `npm run bench -- sync propagation`.
 * @param {LiveContext} live
 * @param {{ writes: number, dir: () => Promise<string>, rowFilter?: string }} options `rowFilter`:
 *   comma-separated words; only rows whose label contains one run (e.g. `pouchdb,ceph`)
 */
export async function propagation(live, { writes, dir, rowFilter }) {
  /** @type {(() => Promise<void>)[]} */
  const stops = [];
  const allow = { allowOrigins: [live.origin] };
  const signal = await live.startServer({ dir: await dir(), port: 0, ...allow });
  const polling = await live.startServer({ dir: await dir(), port: 0, ...allow, changeSignal: false });
  const pouch = await startPouchServer(live.origin);
  const a = await device(live);
  const b = await device(live);
  const devices = { a: a.context, b: b.context };
  try {
    const pouchDb = `live-bench-${randomUUID()}`;
    await pouch.createDatabase(pouchDb);
    /** @type {Parameters<typeof propagationRow>[2][]} */
    const rows = [
      { label: 'PouchDB live (express-pouchdb)', lib: 'pouchdb', server: pouch.url, set: pouchDb },
      {
        label: 'chainsync, reference server, signal',
        lib: 'chainsync',
        server: signal.url,
        set: randomUUID(),
        armed: () => held(signal, 2),
      },
      {
        label: 'chainsync, reference server, signal, lone writes (300 ms pause before each)',
        lib: 'chainsync',
        server: signal.url,
        set: randomUUID(),
        pauseMs: LONE_WRITE_PAUSE_MS,
        armed: () => held(signal, 2),
      },
      {
        label: 'chainsync, reference server, signal, A calls sync()',
        lib: 'chainsync',
        server: signal.url,
        set: randomUUID(),
        sync: true,
        armed: () => held(signal, 2),
      },
      {
        label: 'chainsync, reference server, polling (writes 0-5 s apart)',
        lib: 'chainsync',
        server: polling.url,
        set: randomUUID(),
        gapMs: FOCUSED_POLL_MS,
      },
    ];
    const only = rowFilter?.split(',');
    /** @param {string} label */
    const selected = (label) => !only || only.some((word) => label.toLowerCase().includes(word));
    // Ceph is started only when its row runs (a cluster costs a few seconds of both cores).
    const ceph = selected('ceph rgw') ? await cephRow(live) : null;
    if (typeof ceph === 'string') console.log(`propagation: Ceph RGW (polling): skipped: ${ceph}`);
    else if (ceph !== null) {
      stops.push(ceph.stop);
      rows.push(ceph.row);
    }
    const results = [];
    for (const row of rows) {
      if (!selected(row.label)) continue;
      console.log(`propagation: ${row.label} …`);
      const result = await propagationRow(live, devices, row, writes);
      console.log(`  ${JSON.stringify(result)}`);
      results.push(result);
    }
    // Without the PouchDB row (--rows), no ratio: a baseline from another run would mislead.
    const baseline = results.find((r) => r.label.startsWith('PouchDB'))?.p50 ?? Number.NaN;
    console.log(
      `\npropagation — A writes, B's handler fires (two browsers, on-disk profiles, default schedules), ${writes} sequential writes each`,
    );
    console.table(
      results.map((r) => ({
        row: r.label,
        'p50 ms': Number(r.p50.toFixed(0)),
        'p95 ms': Number(r.p95.toFixed(0)),
        'max ms': Number(r.max.toFixed(0)),
        'p50 / PouchDB p50': Number((r.p50 / baseline).toFixed(2)),
        'p50 A: write → pushed': Number(r.pushedP50.toFixed(0)),
        'p50 pushed → B saw': Number(r.arrivedP50.toFixed(0)),
        writes: r.writes,
        "B's page": r.page,
      })),
    );
  } finally {
    await a.close();
    await b.close();
    for (const stop of stops) await stop();
    await pouch.close();
    await signal.close();
    await polling.close();
  }
}

/**
 * The Ceph RGW row (polling: RGW has no change signal), or why it is skipped: a throwaway
 * single-node Ceph (../shared/interop/ceph-up.sh) with a bucket whose CORS rule lets the bench page in.
 * @param {LiveContext} live
 * @returns {Promise<string | { row: Parameters<typeof propagationRow>[2], stop: () => Promise<void> }>}
 */
async function cephRow(live) {
  const missing = await live.interop.requireCeph();
  if (missing !== null) return missing;
  const ceph = await live.interop.startCeph();
  try {
    const { accessKeyId, secretAccessKey, region } = live.interop.CEPH_CREDENTIALS;
    const s3 = new AwsClient({ accessKeyId, secretAccessKey, region, service: 's3' });
    const bucket = `live-bench-${Date.now()}`;
    const bucketUrl = `${ceph.endpoint.replace(/\/$/, '')}/${bucket}`;
    const created = await s3.fetch(bucketUrl, { method: 'PUT' });
    if (!created.ok) throw new Error(`creating the bucket: ${created.status} ${await created.text()}`);
    // The page is another origin: RGW must answer its preflights and expose ETag.
    const cors =
      '<CORSConfiguration><CORSRule>' +
      `<AllowedOrigin>${live.origin}</AllowedOrigin>` +
      ['GET', 'PUT', 'DELETE', 'HEAD'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('') +
      '<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>' +
      '</CORSRule></CORSConfiguration>';
    const md5 = createHash('md5').update(cors).digest('base64');
    const set = await s3.fetch(`${bucketUrl}?cors`, {
      method: 'PUT',
      body: cors,
      headers: { 'Content-MD5': md5 },
    });
    if (!set.ok) throw new Error(`setting the bucket's CORS: ${set.status} ${await set.text()}`);
    return {
      stop: () => ceph.stop(),
      row: {
        label: 'chainsync, Ceph RGW, polling (writes 0-5 s apart)',
        lib: 'chainsync',
        server: ceph.endpoint,
        set: randomUUID(),
        s3: JSON.stringify({ endpoint: ceph.endpoint, bucket, region, accessKeyId, secretAccessKey }),
        gapMs: FOCUSED_POLL_MS,
      },
    };
  } catch (error) {
    await ceph.stop();
    throw error;
  }
}

/**
 * `npm run bench -- sync idle`: one idle replica per state and transport, side by side in one
 * browser (each its own data set and server, counted apart), for `minutes`.
 * @param {LiveContext} live @param {{ minutes: number, dir: () => Promise<string> }} options
 */
export async function idle(live, { minutes, dir }) {
  const allow = { allowOrigins: [live.origin] };
  const signal = await live.startServer({ dir: await dir(), port: 0, ...allow });
  const polling = await live.startServer({ dir: await dir(), port: 0, ...allow, changeSignal: false });
  const pouchCounts = new RequestCounts();
  const pouch = await startPouchServer(live.origin, (request, response) =>
    pouchCounts.track(request, response),
  );
  const pouchDb = `live-idle-${randomUUID()}`;
  await pouch.createDatabase(pouchDb);
  const browser = await device(live);
  /** @type {{ close(): Promise<unknown> }[]} */
  const proxies = [];
  try {
    const replicas = [];
    for (const [transport, server] of /** @type {const} */ ([
      ['signal', signal],
      ['polling', polling],
    ])) {
      for (const state of /** @type {const} */ (['focused', 'visible', 'hidden'])) {
        const proxy = await countingProxy(server.url);
        proxies.push(proxy);
        const set = randomUUID();
        const page = await replicaPage(live, browser.context, {
          lib: 'chainsync',
          server: proxy.url,
          set,
          name: `idle-${set}`,
          role: 'idle',
        });
        replicas.push({
          label: `chainsync ${transport}, ${state}`,
          page,
          state,
          counts: proxy.counts,
          lib: 'chainsync',
        });
      }
    }
    const pouchPage = await replicaPage(live, browser.context, {
      lib: 'pouchdb',
      server: pouch.url,
      set: pouchDb,
      name: `idle-${pouchDb}`,
      role: 'reader',
    });
    replicas.push({
      label: 'PouchDB live pull',
      page: pouchPage,
      state: 'focused',
      counts: pouchCounts,
      lib: 'pouchdb',
    });
    for (const r of replicas) {
      if (r.lib === 'chainsync') {
        await r.page.evaluate(() => window.liveBench?.write('seed'));
        await synced(r.page);
      }
    }
    const states = await Promise.all(
      replicas.map((r) =>
        r.page.evaluate(() => `${document.visibilityState}, hasFocus ${document.hasFocus()}`),
      ),
    );
    console.log(`idle: pages before the stubs: ${[...new Set(states)].join(' / ')}`);
    for (const r of replicas) await r.page.evaluate((state) => window.liveBench?.look(state), r.state);
    // The seed's own push woke the watchers and the page-state change may sync: let that pass.
    await sleep(5_000);
    for (const r of replicas) r.counts.reset();
    console.log(`idle: counting for ${minutes} min …`);
    await sleep(minutes * 60_000);
    const rows = replicas.map((r) => ({
      replica: r.label,
      'requests / min': Number((r.counts.total() / minutes).toFixed(1)),
      'by method, status': r.counts
        .entries()
        .map(([key, n]) => `${key}: ${n}`)
        .join(', '),
    }));
    console.log(`\nidle cost — one idle replica each, requests counted at the server over ${minutes} min`);
    console.table(rows);
    for (const r of replicas) await r.page.evaluate(() => window.liveBench?.close()).catch(() => undefined);
  } finally {
    await browser.close();
    for (const proxy of proxies) await proxy.close();
    await pouch.close();
    await signal.close();
    await polling.close();
  }
}
