// @ts-check
/* global console, process, window, URLSearchParams */
/**
 * `npm run bench`: serves bench/ with Vite on 127.0.0.1, opens it in Debian's Chromium with an
 * ON-DISK profile (Playwright's default contexts keep IndexedDB in RAM, which flatters every
 * library), waits for the page's medians and prints them with the ratio to raw `idb`.
 * Then the sync page (bench/sync.html): replicas syncing through chainsync's reference server,
 * which this script starts on 127.0.0.1 with a fresh directory.
 * `npm run bench -- store` or `npm run bench -- sync` runs one of the two; `npm run bench -- sync
 * catch-up` runs one sync workload (push-pull, catch-up, bootstrap, writers).
 * No thresholds: the figures are for people to read.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright';
import { createServer } from 'vite';

const server = await createServer({
  server: {
    host: '127.0.0.1',
    port: 0,
    strictPort: false,
    // Cross-origin isolation gives performance.now() microsecond resolution (100 µs without).
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  optimizeDeps: { include: ['dexie', 'idb-keyval'] },
  logLevel: 'warn',
});
await server.listen();
const address = server.httpServer?.address();
if (!address || typeof address === 'string') throw new Error('Vite did not listen on a port');
const { chromiumArgs, chromiumPath } = await server.ssrLoadModule('/vite.config.ts');
const { startServer } = await server.ssrLoadModule('/src/server/index.ts');
const only = process.argv[2];
/** With `sync`, the workloads to run (names in bench/sync-main.ts), e.g. `catch-up`. */
const syncWorkloads = process.argv.slice(3);
if (only !== undefined && only !== 'store' && only !== 'sync')
  throw new Error('usage: npm run bench [-- store | sync [push-pull|catch-up|bootstrap|writers ...]]');

const profile = await mkdtemp(join(tmpdir(), 'chainsync-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  args: chromiumArgs,
  headless: true,
});
try {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  // The page's own progress lines only: Chromium also logs every 404/412, which are the sync
  // protocol's ordinary answers (absent objects, lost compare-and-swap races).
  page.on('console', (message) => {
    if (message.type() === 'log' && !message.text().startsWith('[vite]'))
      console.log('page:', message.text());
  });
  if (only !== 'sync') await storeBench(page);
  if (only !== 'store') await syncBench(page);
} finally {
  await context.close();
  await server.close();
  await rm(profile, { recursive: true, force: true });
}

/** The local-store page: chainsync's client against raw idb, idb-keyval and Dexie. */
async function storeBench(page) {
  await page.goto(`http://127.0.0.1:${address.port}/bench/index.html`);
  await page.waitForFunction(() => window.benchResult !== undefined, undefined, { timeout: 600_000 });
  const result = await page.evaluate(() => window.benchResult);
  if (!result?.rows) throw new Error(`benchmark failed in the page: ${result?.error}`);
  const baseline = new Map(result.rows.filter((r) => r.lib === 'idb').map((r) => [r.workload, r.medianMs]));
  console.log(`chainsync benchmark — Chromium, on-disk profile (${profile}), medians`);
  console.table(
    result.rows.map((r) => ({
      workload: r.workload,
      library: r.lib,
      'median ms': Number(r.medianMs.toFixed(3)),
      'ratio to raw idb': Number((r.medianMs / (baseline.get(r.workload) ?? NaN)).toFixed(2)),
      samples: r.samples,
    })),
  );
}

/** The sync page, against a reference server started here on a fresh directory. */
async function syncBench(page) {
  const dir = await mkdtemp(join(tmpdir(), 'chainsync-bench-server-'));
  // Without a token the server refuses web pages it was not told about: allow the bench page's.
  const remote = await startServer({ dir, port: 0, allowOrigins: [`http://127.0.0.1:${address.port}`] });
  try {
    await page.goto(
      `http://127.0.0.1:${address.port}/bench/sync.html?${new URLSearchParams([
        ['server', remote.url],
        ...syncWorkloads.map((name) => ['workload', name]),
      ]).toString()}`,
    );
    await page.waitForFunction(() => window.syncBenchResult !== undefined, undefined, { timeout: 1_800_000 });
    const result = await page.evaluate(() => window.syncBenchResult);
    if (!result?.rows) throw new Error(`sync benchmark failed in the page: ${result?.error}`);
    console.log(
      `chainsync sync benchmark — Chromium, IndexedDB on disk, reference server on ${remote.url}, medians`,
    );
    for (const r of result.rows) {
      console.log(`\n${r.workload}: median ${r.medianMs.toFixed(0)} ms over ${r.samples} runs`);
      console.log(`  ${r.detail}`);
      if (r.baseline) {
        console.log(
          `  vs ${r.baseline.label}: ${r.baseline.ms.toFixed(0)} ms measured in this run -> ratio ${(r.medianMs / r.baseline.ms).toFixed(2)}`,
        );
      }
      if (r.quoted) {
        const ratio = r.quoted.ms / r.medianMs;
        console.log(
          `  vs ${r.quoted.label}: ${r.quoted.ms} ms quoted, not measured here -> ${ratio.toFixed(1)}x faster`,
        );
      }
    }
  } finally {
    await remote.close();
    await rm(dir, { recursive: true, force: true });
  }
}
