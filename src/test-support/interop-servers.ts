/**
 * Test support (Node only): real third-party servers on 127.0.0.1 with throwaway configs in a temp
 * dir — Apache mod_dav, nginx dav, Ceph RADOS Gateway — and the Debian packages they need.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FetchLike } from '../remote/http/options.js';

const run = promisify(execFile);

/** The repo root (this file is src/test-support/interop-servers.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Makes sure `binaries` exist, installing `packages` with apt-get when running as root. Returns
 * null when ready, else the reason to skip (not root). Under CI=true a missing package is an error.
 */
export async function requirePackages(binaries: string[], packages: string[]): Promise<string | null> {
  const absent = binaries.filter((binary) => !existsSync(binary));
  if (absent.length === 0) return null;
  if (!isRoot()) {
    const reason = `${absent.join(', ')} missing, and installing ${packages.join(' ')} needs root`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: interop tests may not be skipped)`);
    console.warn(`skipping: ${reason}`);
    return reason;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env }).catch(() => undefined);
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  const still = binaries.filter((binary) => !existsSync(binary));
  if (still.length > 0)
    throw new Error(`installing ${packages.join(' ')} did not provide ${still.join(', ')}`);
  return null;
}

/**
 * `inner` with PUT bodies that arrive slowly: half, a pause of `pauseMs`, then the rest (a slow
 * uplink). A server that checks `If-Match` when the headers arrive but writes only after the body
 * (Apache mod_dav) then lets every racing writer through, so its lost updates show up every time
 * instead of by luck of scheduling.
 */
export function slowUploads(inner: FetchLike = (url, init) => fetch(url, init), pauseMs = 300): FetchLike {
  return (url, init) => {
    const body = init.body;
    if (init.method !== 'PUT' || !(body instanceof Uint8Array) || body.length < 2) return inner(url, init);
    const bytes: Uint8Array = body;
    const half = bytes.length >> 1;
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytes.slice(0, half));
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        controller.enqueue(bytes.slice(half));
        controller.close();
      },
    });
    // `duplex` (needed for a streamed request body) is not in TypeScript's DOM RequestInit yet.
    return inner(url, { ...init, body: stream, duplex: 'half' } as RequestInit);
  };
}

/** A running server and how to stop it. */
export interface RunningServer {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, child: ChildProcess | undefined, logFile: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child && child.exitCode !== null) break;
    try {
      await fetch(url, { method: 'HEAD' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const log = await readFile(logFile, 'utf8').catch(() => '(no log)');
  throw new Error(`server at ${url} did not come up; log:\n${log.slice(-2000)}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Apache 2.4 with mod_dav + mod_dav_fs serving a temp dir. */
export async function startApache(): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'chainsync-apache-'));
  const www = join(dir, 'www');
  const locks = join(dir, 'locks');
  await mkdir(www);
  await mkdir(locks);
  const port = await freePort();
  const modules = '/usr/lib/apache2/modules';
  // As root Apache switches to `User` for its workers: give that user the document root.
  if (isRoot()) {
    const { stdout } = await run('id', ['-u', 'www-data']).catch(() => ({ stdout: '' }));
    const uid = Number(stdout.trim());
    if (uid > 0) for (const owned of [www, locks]) await chown(owned, uid, uid);
    await chmod(dir, 0o755);
  }
  const conf = join(dir, 'apache2.conf');
  await writeFile(
    conf,
    [
      `ServerRoot ${dir}`,
      `ServerName 127.0.0.1`,
      `Listen 127.0.0.1:${port}`,
      `PidFile ${dir}/apache2.pid`,
      `ErrorLog ${dir}/error.log`,
      `LogLevel warn`,
      `DefaultRuntimeDir ${dir}`,
      `Mutex file:${dir}`,
      ...(isRoot() ? ['User www-data', 'Group www-data'] : []),
      `LoadModule mpm_event_module ${modules}/mod_mpm_event.so`,
      `LoadModule authz_core_module ${modules}/mod_authz_core.so`,
      `LoadModule dav_module ${modules}/mod_dav.so`,
      `LoadModule dav_fs_module ${modules}/mod_dav_fs.so`,
      `DAVLockDB ${locks}/davlock`,
      `DocumentRoot ${www}`,
      `<Directory ${www}>`,
      `  Dav On`,
      `  Require all granted`,
      `</Directory>`,
      '',
    ].join('\n'),
  );
  return serveFromDir(dir, port, '/usr/sbin/apache2', ['-f', conf, '-DFOREGROUND']);
}

/** nginx with its dav module (PUT / DELETE) serving a temp dir. */
export async function startNginx(): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'chainsync-nginx-'));
  const www = join(dir, 'www');
  await mkdir(www);
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `
${isRoot() ? 'user root root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${www};
    location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 16m;
    }
  }
}
`,
  );
  return serveFromDir(dir, port, '/usr/sbin/nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;']);
}

/** Starts `command` (a server configured to use `dir`, logging to `dir`/error.log) and waits for it. */
async function serveFromDir(
  dir: string,
  port: number,
  command: string,
  args: string[],
): Promise<RunningServer> {
  const child = spawn(command, args, { stdio: 'ignore' });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/`, child, join(dir, 'error.log'));
  return {
    baseUrl,
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** S3 credentials of the throwaway Ceph cluster (see ../shared/interop/README.md). */
/**
 * Makes sure Ceph and what ceph-up.sh needs (uuidgen, bc, curl) are installed, as
 * {@link requirePackages} does: null when ready, else the reason to skip.
 */
export function requireCeph(): Promise<string | null> {
  return requirePackages(
    [
      '/usr/bin/radosgw',
      '/usr/bin/ceph-mon',
      '/usr/bin/ceph-osd',
      '/usr/bin/ceph',
      '/usr/bin/uuidgen',
      '/usr/bin/bc',
      '/usr/bin/curl',
    ],
    ['radosgw', 'ceph-mon', 'ceph-osd', 'ceph-common', 'uuid-runtime', 'bc', 'curl'],
  );
}

export const CEPH_CREDENTIALS = {
  accessKeyId: 'testaccesskey',
  secretAccessKey: 'testsecretkey',
  region: 'us-east-1',
} as const;

/**
 * A single-node Ceph with its RADOS Gateway (S3) on 127.0.0.1, via ../shared/interop/ceph-up.sh.
 * A failed start-up (a port taken between choosing and binding it, a monitor race the script's own
 * retries did not absorb) is retried once on fresh ports; the error says what the script printed.
 */
export async function startCeph(): Promise<CephServer> {
  try {
    return await startCephOnce();
  } catch (error) {
    console.warn(`ceph-up.sh failed once, retrying on fresh ports: ${String(error).slice(0, 500)}`);
    return startCephOnce();
  }
}

/** A running Ceph RGW: its S3 endpoint, and `admin` to run `radosgw-admin` on it (e.g. rotate keys). */
export interface CephServer extends RunningServer {
  readonly endpoint: string;
  /** Runs `radosgw-admin -n client.admin <args>` against this cluster; resolves to its stdout. */
  admin(...args: string[]): Promise<string>;
}

async function startCephOnce(): Promise<CephServer> {
  const scripts = join(repoRoot, '..', 'shared', 'interop');
  if (!existsSync(join(scripts, 'ceph-up.sh'))) {
    throw new Error(`${scripts}/ceph-up.sh not found: the repo must sit next to shared/ (as in CI)`);
  }
  const parent = await mkdtemp(join(tmpdir(), 'chainsync-ceph-'));
  const base = join(parent, 'cluster');
  const rgwPort = await freePort();
  let monPort = await freePort();
  while (monPort === rgwPort) monPort = await freePort();
  const env = { ...process.env, BASE: base, RGW_PORT: String(rgwPort), MON_PORT: String(monPort) };
  const down = async () => {
    await run(join(scripts, 'ceph-down.sh'), { env }).catch(() => undefined);
    await rm(parent, { recursive: true, force: true });
  };
  let stdout: string;
  try {
    ({ stdout } = await run(join(scripts, 'ceph-up.sh'), { env, timeout: 60_000 }));
  } catch (error) {
    await down();
    const { stdout: out = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`ceph-up.sh failed: ${String(error)}\n${out.slice(-1500)}\n${stderr.slice(-1500)}`, {
      cause: error,
    });
  }
  const endpoint = /S3_ENDPOINT=(\S+)/.exec(stdout)?.[1];
  if (!endpoint) {
    await down();
    throw new Error(`ceph-up.sh printed no S3_ENDPOINT:\n${stdout}`);
  }
  const conf = /CEPH_CONF=(\S+)/.exec(stdout)?.[1] ?? join(base, 'ceph.conf');
  const admin = async (...args: string[]) =>
    (await run('radosgw-admin', ['-n', 'client.admin', ...args], { env: { ...env, CEPH_CONF: conf } }))
      .stdout;
  return { endpoint, baseUrl: endpoint, stop: down, admin };
}
