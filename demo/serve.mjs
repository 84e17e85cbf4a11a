#!/usr/bin/env node
/* global console, process */
/**
 * `npm run demo`: builds the package if needed, starts the chainsync reference server on 127.0.0.1
 * (a fresh data directory, a free port) and the Vite dev server for demo/, and prints the URL.
 * PORT picks Vite's port (default 5173); DEMO_DIR keeps the server's objects in that directory.
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

const demoDir = dirname(fileURLToPath(import.meta.url));
const rootDir = resolve(demoDir, '..');
const serverEntry = join(rootDir, 'dist/src/server/index.js');
if (!existsSync(serverEntry)) execSync('npm run build', { cwd: rootDir, stdio: 'inherit' });
const { startServer } = await import(serverEntry);

const dir = process.env.DEMO_DIR ?? (await mkdtemp(join(tmpdir(), 'chainsync-demo-')));
const demoPort = Number(process.env.PORT ?? 5173);
// Without a token the server refuses every web page it is not told about: allow the demo's own
// origin (Vite listens on 127.0.0.1; a browser may also reach it as localhost), and no other.
const server = await startServer({
  dir,
  port: Number(process.env.SERVER_PORT ?? 0),
  host: '127.0.0.1',
  allowOrigins: [`http://127.0.0.1:${demoPort}`, `http://localhost:${demoPort}`],
});

const vite = await createServer({
  configFile: false,
  root: demoDir,
  logLevel: 'warn',
  server: { host: '127.0.0.1', port: demoPort, strictPort: true },
  define: { __CHAINSYNC_SERVER__: JSON.stringify(server.url) },
  optimizeDeps: { include: ['idb', 'comlink', 'msw/browser'] },
  build: {
    rollupOptions: { input: { main: join(demoDir, 'index.html'), replica: join(demoDir, 'replica.html') } },
  },
});
await vite.listen();
const url = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${vite.config.server.port}/`;
console.log(`chainsync reference server: ${server.url} (objects in ${dir})`);
console.log(`chainsync reference server: ${server.exposure}`);
console.log(`chainsync demo: ${url}`);

const stop = async () => {
  await vite.close();
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
