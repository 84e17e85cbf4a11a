#!/usr/bin/env node
/* global console, process */
/**
 * `npm run demo`: builds the package if needed, starts the chainsync reference server on 127.0.0.1
 * (a fresh data directory, a free port) and the Vite dev server for demo/, and prints the URL.
 * PORT picks Vite's port (default 5173); DEMO_DIR keeps the server's objects in that directory.
 * DEMO_BUILD=1 serves a production build of the demo instead of the dev server: a page loads a few
 * bundles instead of every source module one by one (the e2e tests open many fresh browser
 * contexts, each loading the whole module graph again: about 15 s a page on a loaded 2-core machine).
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer, preview } from 'vite';

const demoDir = dirname(fileURLToPath(import.meta.url));
const rootDir = resolve(demoDir, '..');
const serverEntry = join(rootDir, 'dist/src/server/index.js');
if (!existsSync(serverEntry)) execSync('npm run build', { cwd: rootDir, stdio: 'inherit' });
const { startServer } = await import(serverEntry);

const dir = process.env.DEMO_DIR ?? (await mkdtemp(join(tmpdir(), 'chainsync-demo-')));
const port = Number(process.env.PORT ?? 5173);
// Without a token the server refuses every web page it is not told about: allow the demo's own
// origin (Vite listens on 127.0.0.1; a browser may also reach it as localhost), and no other.
const server = await startServer({
  dir,
  port: Number(process.env.SERVER_PORT ?? 0),
  host: '127.0.0.1',
  allowOrigins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`],
});

const shared = {
  configFile: false,
  root: demoDir,
  logLevel: 'warn',
  define: { __CHAINSYNC_SERVER__: JSON.stringify(server.url) },
  build: {
    // Beside the server's objects, never inside them (the server owns that directory).
    outDir: await mkdtemp(join(tmpdir(), 'chainsync-demo-build-')),
    emptyOutDir: true,
    rollupOptions: { input: { main: join(demoDir, 'index.html'), replica: join(demoDir, 'replica.html') } },
  },
};
let vite;
if (process.env.DEMO_BUILD === '1') {
  await build({ ...shared, worker: { format: 'es' } });
  vite = await preview({ ...shared, preview: { host: '127.0.0.1', port, strictPort: true } });
} else {
  vite = await createServer({
    ...shared,
    server: { host: '127.0.0.1', port, strictPort: true },
    optimizeDeps: { include: ['idb', 'comlink', 'msw/browser'] },
  });
  await vite.listen();
}
const url = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${vite.config.server.port}/`;
console.log(`chainsync reference server: ${server.url} (objects in ${dir})`);
console.log(`chainsync reference server: ${server.exposure}`);
console.log(`chainsync demo: ${url}`);

const stop = async () => {
  await vite.close();
  await server.close();
  await rm(shared.build.outDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
