/**
 * What an app ships (issue 13 part 4): a minimal consumer of the packed package — the README
 * quickstart's shape, an HTTP remote and no secret — built by Vite for production. Measures with
 * brotli what the browser loads at start-up: the page's entry chunk with its static imports, and the
 * worker's entry chunk with the engine module that it `import()`s at once and that module's static
 * imports (workerAtStart; the other chunks reached only by `import()` are loaded when a configuration
 * uses them, so they are listed but not counted). Prints every chunk and its size and holds
 * regression budgets. Both worker formats Vite has are built and run in Chromium against the
 * reference server: 'es' (the split measured here) and the default 'iife' (Vite inlines what the
 * worker imports on demand); and the 'es' build once more without its engine file, which must fail
 * with a typed error, not hang. Run after `npm run build`, as `npm test` does.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { chromium, type Browser } from 'playwright';
import { build, preview, type InlineConfig } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './server/index.js';
import { makeConsumer, packPackage, type Consumer } from './test-support/packed-package.js';
import { chromiumArgs, chromiumPath } from '../vite.config.js';

/**
 * Regression budgets, in brotli bytes: the sizes measured, rounded up by about 0.5 kB. Before issue
 * 13 part 4 (2026-12-02): page 8,664 B, worker 52,278 B, all of it loaded at start-up. After it
 * (same day): page 8,791 B, worker 46,877 B at start-up (the S3 signer, token renewal, encryption
 * and the capability probe load on demand). The goals (worker 22 kB, page 6 kB) are not met.
 * With the chunked replica store (issue 13 part 2) merged beside it: worker 47,544 B, page 8,820 B.
 * With the worker entry importing nothing statically (it loads the engine module with `import()`,
 * so that the worker runs before its graph loads; worker/worker.ts): worker 48,679 B at start-up
 * (entry 284 + engine module 44,711 + the chunks it imports statically, which Vite now cuts out as
 * they are shared with the on-demand parts: errors 1,623, bytes 1,956, timers 105), page 8,817 B.
 * With the overlay folds of the chunked store (issue 13 part 2) merged too: worker 49,431 B (engine
 * module 45,465 B), page 8,816 B; 'iife' 55,861 B.
 */
const BUDGET = { page: 9_300, worker: 49_900 };

/**
 * A page that opens a replica on an HTTP remote (`url`) with no secret, as the README's quickstart
 * does, writes, syncs, and says how it went in `document.body.dataset.state`: `synced, <n> pending,
 * <last error code or 'no error'>`, or `failed <code> <error>`.
 */
const page = (url: string) => `import { openReplica } from 'chainsync';

try {
  const replica = await openReplica({
    name: 'tasks',
    clientId: '6f1c2a9e-4b7d-4e0a-9c3f-2d8b5e7a1f40',
    remote: { kind: 'http', url: ${JSON.stringify(url)}, prefix: 'team-1' },
  });
  replica.watch('tasks', (tasks) => {
    document.body.textContent = tasks.map((task) => String(task.properties.title)).join(', ');
  });
  await replica.create('tasks', crypto.randomUUID(), { title: 'Buy milk', done: false });
  await replica.sync();
  const { pending, lastError } = await replica.status();
  document.body.dataset.state = \`synced, \${pending} pending, \${lastError?.code ?? 'no error'}\`;
} catch (error) {
  document.body.dataset.state = \`failed \${error?.code ?? ''} \${String(error)}\`;
}
`;

/** The size of `bytes` compressed as a server would (brotli, best quality). */
function brotliSize(bytes: Buffer): number {
  return brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
}

/** A built chunk: its path in the output directory and what it imports. */
interface Chunk {
  readonly file: string;
  readonly bytes: Buffer;
  /** Chunks imported statically (`import … from`, `export … from`, bare `import '…'`). */
  readonly staticImports: string[];
  /** Chunks imported by `import('…')`. */
  readonly dynamicImports: string[];
}

/** The JavaScript files of a build's output directory, with their imports resolved to files. */
function readChunks(outDir: string): Map<string, Chunk> {
  const chunks = new Map<string, Chunk>();
  const walk = (dir: string): string[] =>
    readdirSync(join(outDir, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(posix.join(dir, entry.name)) : [posix.join(dir, entry.name)],
    );
  for (const file of walk('.').filter((name) => name.endsWith('.js'))) {
    const bytes = readFileSync(join(outDir, file));
    const code = bytes.toString('utf8');
    const resolveSpec = (spec: string) => posix.normalize(posix.join(posix.dirname(file), spec));
    const relative = (specs: string[]) => specs.filter((s) => s.startsWith('.')).map(resolveSpec);
    const dynamic = [...code.matchAll(/\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!);
    const statics = [
      ...code.matchAll(/(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w$*{},\s]+?\s*from\s*)?["']([^"']+)["']/g),
    ].map((m) => m[1]!);
    chunks.set(file, { file, bytes, staticImports: relative(statics), dynamicImports: relative(dynamic) });
  }
  return chunks;
}

/**
 * What the worker loads at start-up (worker/worker.ts): its entry, which imports nothing statically
 * and at once loads the engine module with its one `import()`, and that module with every chunk it
 * reaches by static imports. What the engine reaches by `import()` (the parts of issue 13 part 4)
 * loads on first use and is not counted.
 */
function workerAtStart(chunks: Map<string, Chunk>, entryFile: string): Chunk[] {
  const entry = chunks.get(entryFile);
  if (!entry) throw new Error(`the worker entry ${entryFile} is not in the build`);
  expect(entry.staticImports, 'the worker entry imports nothing statically').toEqual([]);
  expect(entry.dynamicImports, 'the worker entry imports one module, the engine, at once').toHaveLength(1);
  const engine = loadedAtStart(chunks, entry.dynamicImports[0]!).filter((chunk) => chunk !== entry);
  return [entry, ...engine];
}

/** `entry` and every chunk it reaches by static imports. */
function loadedAtStart(chunks: Map<string, Chunk>, entry: string): Chunk[] {
  const seen = new Map<string, Chunk>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const chunk = chunks.get(file);
    if (!chunk) throw new Error(`${file} is imported but not in the build`);
    seen.set(file, chunk);
    chunk.staticImports.forEach(visit);
  };
  visit(entry);
  return [...seen.values()];
}

/** What one production build of the consumer app shipped. */
interface Shipped {
  readonly chunks: Map<string, Chunk>;
  readonly page: Chunk[];
  readonly worker: Chunk[];
  /** The worker's entry chunk (its path in the output directory). */
  readonly workerEntry: string;
}

/** Builds the consumer app with `worker.format` and reads what the page and the worker load. */
async function buildApp(consumer: Consumer, format: 'es' | 'iife' | undefined): Promise<Shipped> {
  const outDir = join(consumer.dir, `dist-${format ?? 'default'}`);
  const config: InlineConfig = {
    root: consumer.dir,
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false },
    ...(format ? { worker: { format } } : {}),
  };
  await build(config);
  const chunks = readChunks(outDir);
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  const pageEntry = /<script type="module"[^>]*src="\/([^"]+)"/.exec(html)?.[1];
  if (!pageEntry) throw new Error(`no module script in the built index.html:\n${html}`);
  const page = loadedAtStart(chunks, pageEntry);
  // The worker's entry: the chunk the page's code spawns with new Worker(new URL('…', import.meta.url)).
  const workerUrls = page.flatMap((chunk) => [
    ...chunk.bytes.toString('utf8').matchAll(/new Worker\(\s*new URL\(\s*["'`]([^"'`]+)["'`]/g),
  ]);
  expect(workerUrls.length, 'the page spawns one worker').toBe(1);
  // Vite writes it from the site's root (`/assets/worker-….js`): the build's base is '/'.
  const workerUrl = workerUrls[0]![1]!;
  const workerEntry = workerUrl.startsWith('/')
    ? workerUrl.slice(1)
    : posix.normalize(posix.join(posix.dirname(pageEntry), workerUrl));
  // 'iife' makes one worker file, nothing to follow; 'es' splits it (see workerAtStart).
  const worker = format === 'es' ? workerAtStart(chunks, workerEntry) : loadedAtStart(chunks, workerEntry);
  return { chunks, page, worker, workerEntry };
}

/** Prints every chunk of the build, marking what page and worker load at start-up; returns the sums. */
function report(label: string, shipped: Shipped): { page: number; worker: number } {
  const size = (chunk: Chunk) => brotliSize(chunk.bytes);
  const sum = (list: Chunk[]) => list.reduce((total, chunk) => total + size(chunk), 0);
  const pageFiles = new Set(shipped.page.map((c) => c.file));
  const workerFiles = new Set(shipped.worker.map((c) => c.file));
  const lines = [...shipped.chunks.values()].map((chunk) => {
    const role = pageFiles.has(chunk.file)
      ? 'page start-up'
      : workerFiles.has(chunk.file)
        ? 'worker start-up'
        : 'on demand';
    return `  ${chunk.file.padEnd(48)} ${String(chunk.bytes.length).padStart(8)} B ${String(size(chunk)).padStart(7)} B brotli  ${role}`;
  });
  const totals = { page: sum(shipped.page), worker: sum(shipped.worker) };
  // eslint-disable-next-line no-console -- the chunk report is what this test is read for
  console.log(
    `${label}:\n${lines.join('\n')}\n  page at start-up ${totals.page} B brotli, worker at start-up ${totals.worker} B brotli`,
  );
  return totals;
}

/**
 * Serves the build of `format` (vite preview) and opens it in a fresh context of `browser`: the
 * page syncs through the reference server. Returns what the page said.
 */
async function runApp(browser: Browser, consumer: Consumer, format: string): Promise<string> {
  const server = await preview({
    root: consumer.dir,
    configFile: false,
    logLevel: 'warn',
    build: { outDir: join(consumer.dir, `dist-${format}`) },
    preview: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(String(error)));
    allowedOrigin = new URL(server.resolvedUrls!.local[0]!).origin;
    await tab.goto(server.resolvedUrls!.local[0]!);
    const state = tab.locator('body[data-state]');
    // Attached, not visible: a page that failed shows no text.
    await state.waitFor({ state: 'attached', timeout: 120_000 });
    expect(errors).toEqual([]);
    return (await state.getAttribute('data-state')) ?? '';
  } finally {
    await context.close();
    await server.close();
  }
}

const packed = packPackage();
const consumer = makeConsumer(packed, []);
const objects = mkdtempSync(join(tmpdir(), 'chainsync-shipped-objects-'));
let allowedOrigin = '';
/** The 'es' build, made once: two tests read it. */
let esBuild: Promise<Shipped> | undefined;
const buildEs = () => (esBuild ??= buildApp(consumer, 'es'));
let server: RunningServer;
let browser: Browser;
beforeAll(async () => {
  server = await startServer({ dir: objects, port: 0, allowOrigins: (o) => o === allowedOrigin });
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  consumer.write('index.html', '<!doctype html><script type="module" src="/main.ts"></script>\n');
  consumer.write('main.ts', page(server.url));
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  consumer.dispose();
  packed.dispose();
  rmSync(objects, { recursive: true, force: true });
});

describe('what an HTTP-only app without a secret ships', () => {
  it(
    'a module worker (worker.format "es") stays within its budgets, and runs',
    { timeout: 240_000 },
    async () => {
      const shipped = await buildEs();
      const totals = report('worker.format "es"', shipped);
      expect(totals.page).toBeLessThanOrEqual(BUDGET.page);
      expect(totals.worker).toBeLessThanOrEqual(BUDGET.worker);
      // The engine leaves parts for later, reached only by import().
      const atStart = new Set(shipped.worker.map((chunk) => chunk.file));
      const parts = shipped.worker
        .filter((chunk) => chunk.file !== shipped.workerEntry)
        .flatMap((chunk) => chunk.dynamicImports)
        .filter((file) => !atStart.has(file));
      expect(parts.length).toBeGreaterThan(0);
      expect(await runApp(browser, consumer, 'es')).toBe('synced, 0 pending, no error');
    },
  );

  it(
    'a module worker whose engine file cannot be fetched fails openReplica with WORKER_TERMINATED',
    { timeout: 240_000 },
    async () => {
      const shipped = await buildEs();
      // The same build, deployed without the engine module (a lost file, a network gone meanwhile).
      const engine = shipped.chunks.get(shipped.workerEntry)!.dynamicImports[0]!;
      cpSync(join(consumer.dir, 'dist-es'), join(consumer.dir, 'dist-es-no-engine'), { recursive: true });
      rmSync(join(consumer.dir, 'dist-es-no-engine', engine));
      expect(await runApp(browser, consumer, 'es-no-engine')).toMatch(
        /^failed WORKER_TERMINATED .*failed to start .*could not load or start its engine/,
      );
    },
  );

  it(
    "Vite's default worker format ('iife') builds one worker file that inlines every part, and runs",
    { timeout: 240_000 },
    async () => {
      const shipped = await buildApp(consumer, undefined);
      report('worker.format default (iife)', shipped);
      expect(shipped.worker).toHaveLength(1);
      const [worker] = shipped.worker;
      expect(worker!.dynamicImports).toEqual([]);
      expect(worker!.staticImports).toEqual([]);
      expect(await runApp(browser, consumer, 'default')).toBe('synced, 0 pending, no error');
    },
  );
});
