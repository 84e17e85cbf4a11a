// @ts-check
/* global console, window */
/**
 * `npm run bench`: serves bench/ with Vite on 127.0.0.1, opens it in Debian's Chromium with an
 * ON-DISK profile (Playwright's default contexts keep IndexedDB in RAM, which flatters every
 * library), waits for the page's medians and prints them with the ratio to raw `idb`.
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

const profile = await mkdtemp(join(tmpdir(), 'chainsync-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: chromiumPath,
  args: chromiumArgs,
  headless: true,
});
try {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
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
} finally {
  await context.close();
  await server.close();
  await rm(profile, { recursive: true, force: true });
}
