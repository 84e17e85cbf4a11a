#!/usr/bin/env node
/* global console, process, setInterval */
/**
 * `npm run demo`: starts the chainsync reference server on 127.0.0.1 (a fresh data directory, a free
 * port) and the Vite dev server for demo/, and prints both URLs. Everything runs from source: the
 * server's TypeScript is loaded through Vite's module runner, so a fresh clone needs no `npm run
 * build` (which took most of a minute) before the demo starts.
 *
 * Environment:
 * - PORT: the demo's port, honoured exactly (fails if taken). Without it the demo takes 5173, or
 *   the next free port when 5173 is taken, and prints the one it took.
 * - SERVER_PORT: the reference server's port, honoured exactly. Without it, any free port.
 * - DEMO_DIR: keep the server's objects in that directory (kept on exit). Without it, a temporary
 *   directory, removed on exit.
 * - DEMO_BUILD=1: serve a production build of the demo instead of the dev server: a page loads a few
 *   bundles instead of every source module one by one (the e2e tests open many fresh browser
 *   contexts, each loading the whole module graph again: about 15 s a page on a loaded 2-core
 *   machine). The build goes to a temporary directory, removed on exit. Only the build is a PWA
 *   (demo/pwa.mjs: a service worker precaches it, so a second visit starts offline).
 *   SIGUSR2 rebuilds it in place as the next version (`__DEMO_VERSION__` 1, 2, …), which is how the
 *   e2e tests deploy an update under an open tab; the line `chainsync demo: built version N` says
 *   when a build is served.
 *
 * Stopping: Ctrl-C, SIGTERM or SIGHUP close both servers and remove the temporary directories. So
 * does the end of the process that started this one: `npm run demo` runs it under `sh -c`, and a
 * SIGTERM to npm ends that shell, not this process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer, preview, runnerImport } from 'vite';
import { demoPwa } from './pwa.mjs';

const demoDir = dirname(fileURLToPath(import.meta.url));
const rootDir = resolve(demoDir, '..');
const DEFAULT_DEMO_PORT = 5173;

/** What to undo on exit, newest last: each entry closes a server or removes a directory. */
const cleanups = [];
let stopping = null;

/** Undoes everything started so far (newest first), then exits with `code`. Runs once. */
function stop(code) {
  stopping ??= (async () => {
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()();
      } catch (error) {
        console.error(`chainsync demo: while stopping: ${error instanceof Error ? error.message : error}`);
      }
    }
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(0));
// Orphaned (the parent shell or npm ended without passing a signal on): the parent id changes.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void stop(0);
}, 500).unref();

/** A port from the environment variable `name`, or `undefined` when it is not set. */
function portFromEnv(name) {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name}=${text} is not a port: set it to a number from 0 to 65535, or unset it.`);
  }
  return port;
}

/** Rewords "port taken" as the setting to change; other errors pass through. */
function explainPortError(error, name, port) {
  const taken = error?.code === 'EADDRINUSE' || /already in use/.test(String(error?.message));
  if (!taken) return error;
  return new Error(
    `port ${port} (${name}=${port}) is already in use: stop what uses it, or choose another ${name}, or unset ${name} to let the demo pick a free port.`,
  );
}

async function start() {
  const demoPort = portFromEnv('PORT');
  const serverPort = portFromEnv('SERVER_PORT');

  let dir = process.env.DEMO_DIR;
  if (dir === undefined || dir === '') {
    const tempDir = await mkdtemp(join(tmpdir(), 'chainsync-demo-'));
    cleanups.push(() => rm(tempDir, { recursive: true, force: true }));
    dir = tempDir;
  }

  // Loaded from source through Vite's module runner (a fraction of a second): no build needed.
  const { module: serverModule } = await runnerImport(join(rootDir, 'src/server/index.ts'), {
    configFile: false,
    root: rootDir,
    logLevel: 'warn',
  });
  // Without a token the server refuses every web page it is not told about: allow the demo's own
  // origin (Vite listens on 127.0.0.1; a browser may also reach it as localhost), and no other.
  // The demo's port is known only once Vite listens (it may pick another), hence a function.
  let demoOrigins = [];
  const server = await serverModule
    .startServer({
      dir,
      port: serverPort ?? 0,
      host: '127.0.0.1',
      allowOrigins: (origin) => demoOrigins.includes(origin),
    })
    .catch((error) => {
      throw explainPortError(error, 'SERVER_PORT', serverPort);
    });
  cleanups.push(() => server.close());

  const shared = {
    configFile: false,
    root: demoDir,
    logLevel: 'warn',
    define: { __CHAINSYNC_SERVER__: JSON.stringify(server.url) },
  };
  // An explicit PORT is a promise to whoever set it (the e2e tests open that port): never another.
  const listen = {
    host: '127.0.0.1',
    port: demoPort ?? DEFAULT_DEMO_PORT,
    strictPort: demoPort !== undefined,
  };
  let vite;
  try {
    if (process.env.DEMO_BUILD === '1') {
      // Beside the server's objects, never inside them (the server owns that directory).
      const outDir = await mkdtemp(join(tmpdir(), 'chainsync-demo-build-'));
      cleanups.push(() => rm(outDir, { recursive: true, force: true }));
      const input = { main: join(demoDir, 'index.html'), replica: join(demoDir, 'replica.html') };
      const buildConfig = { ...shared, build: { outDir, emptyOutDir: true, rollupOptions: { input } } };
      let version = 0;
      const buildVersion = async () => {
        version += 1;
        await build({
          ...buildConfig,
          define: { ...shared.define, __DEMO_VERSION__: JSON.stringify(String(version)) },
          plugins: [demoPwa()],
          worker: { format: 'es' },
        });
        console.log(`chainsync demo: built version ${version}`);
      };
      await buildVersion();
      vite = await preview({ ...buildConfig, preview: listen });
      cleanups.push(() => vite.close());
      let rebuilding = Promise.resolve();
      process.on('SIGUSR2', () => {
        rebuilding = rebuilding.then(buildVersion).catch((error) => {
          console.error(
            `chainsync demo: the rebuild failed: ${error instanceof Error ? error.message : error}`,
          );
        });
      });
    } else {
      vite = await createServer({
        ...shared,
        server: listen,
        optimizeDeps: { include: ['idb', 'comlink', 'msw/browser'] },
      });
      cleanups.push(() => vite.close());
      await vite.listen();
    }
  } catch (error) {
    throw explainPortError(error, 'PORT', listen.port);
  }

  const port = vite.httpServer.address().port;
  demoOrigins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  console.log(`chainsync reference server: ${server.url} (objects in ${dir})`);
  console.log(`chainsync reference server: ${server.exposure}`);
  console.log(`chainsync reference server: the allowOrigins function accepts ${demoOrigins.join(', ')}`);
  if (demoPort === undefined && port !== DEFAULT_DEMO_PORT) {
    console.log(`chainsync demo: port ${DEFAULT_DEMO_PORT} is taken, using ${port}`);
  }
  console.log(`chainsync demo: http://127.0.0.1:${port}/`);
}

try {
  await start();
} catch (error) {
  console.error(`chainsync demo: ${error instanceof Error ? error.message : error}`);
  await stop(1);
}
