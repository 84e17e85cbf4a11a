/**
 * What an app ships (issue 13 part 4): a minimal consumer of the packed package — the README
 * quickstart's shape, an HTTP remote and no secret — built by Vite for production. Measures with
 * brotli what the browser loads at start-up: the page's entry chunk with its static imports, and the
 * worker's entry chunk with its static imports (chunks reached only by `import()` are loaded when a
 * configuration uses them, so they are listed but not counted). Prints every chunk and its size and
 * holds regression budgets. Run after `npm run build`, as `npm test` does.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { build, type InlineConfig } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { makeConsumer, packPackage, type Consumer } from './test-support/packed-package.js';

/**
 * Regression budgets, in brotli bytes: the sizes measured, rounded up by about 0.5 kB. Before issue
 * 13 part 4 (2026-12-02): page 8,664 B, worker 52,278 B, all of it loaded at start-up.
 */
const BUDGET = { page: 9_200, worker: 52_800 };

/** A page that opens a replica on an HTTP remote with no secret, as the README's quickstart does. */
const PAGE = `import { openReplica } from 'chainsync';

const replica = await openReplica({
  name: 'tasks',
  clientId: '6f1c2a9e-4b7d-4e0a-9c3f-2d8b5e7a1f40',
  remote: { kind: 'http', url: 'http://127.0.0.1:8080/', prefix: 'team-1' },
});
replica.watch('tasks', (tasks) => {
  document.body.textContent = tasks.map((task) => String(task.properties.title)).join(', ');
});
await replica.create('tasks', crypto.randomUUID(), { title: 'Buy milk', done: false });
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
  const worker = loadedAtStart(chunks, workerEntry);
  return { chunks, page, worker };
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

const packed = packPackage();
const consumer = makeConsumer(packed, []);
afterAll(() => {
  consumer.dispose();
  packed.dispose();
});
consumer.write('index.html', '<!doctype html><script type="module" src="/main.ts"></script>\n');
consumer.write('main.ts', PAGE);

describe('what an HTTP-only app without a secret ships', () => {
  it('a module worker (worker.format "es") stays within its budgets', { timeout: 180_000 }, async () => {
    const totals = report('worker.format "es"', await buildApp(consumer, 'es'));
    expect(totals.page).toBeLessThanOrEqual(BUDGET.page);
    expect(totals.worker).toBeLessThanOrEqual(BUDGET.worker);
  });
});
