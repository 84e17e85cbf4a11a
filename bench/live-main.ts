/**
 * One replica of the live-sync benchmark (`npm run bench -- sync propagation | idle`, driven by
 * bench/live.mjs): a page of its own browser (its own on-disk profile, like a device of its own),
 * holding one replica — chainsync's `openReplica` with its engine worker and default schedule, or
 * PouchDB with live replication — that bench/live.mjs drives through `window.liveBench`.
 *
 * Query parameters: `lib` (`chainsync` | `pouchdb`), `server` (the remote's URL), `set` (chainsync:
 * the data set, its client id and prefix; PouchDB: the remote database), `name` (the local database),
 * `role` (`writer` | `reader` | `idle`), and for an S3 remote (chainsync) `s3`: JSON
 * `{ endpoint, bucket, region, accessKeyId, secretAccessKey }`.
 *
 * Times are `performance.timeOrigin + performance.now()`: milliseconds since the epoch from the
 * machine's clock, comparable between the writer's browser and the reader's on one machine.
 */
import PouchDB from 'pouchdb-browser';
import { openReplica, type ReplicaClient } from '../src/client/open-replica.js';
import type { RemoteConfig } from '../src/remote/remote-config.js';

const params = new URLSearchParams(location.search);
const lib = params.get('lib');
const server = params.get('server');
const set = params.get('set');
const name = params.get('name');
const role = params.get('role');
const s3 = params.get('s3');
if (!server || !set || !name || (lib !== 'chainsync' && lib !== 'pouchdb'))
  throw new Error('open with ?lib=chainsync|pouchdb&server=<url>&set=<data set>&name=<local db>&role=…');

/** The collection (chainsync) every write goes to. */
const COLLECTION = 'bench';

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** What bench/live.mjs calls in the page. */
export interface LiveBench {
  /** Writes object `id` (a create); resolves with the time the write began, once the call returned. */
  write(id: string, options?: { sync?: boolean }): Promise<number>;
  /** Starts watching for `id` (call before the writer writes it). */
  expect(id: string): void;
  /** Resolves with the time this replica's change handler first saw `id`. */
  seen(id: string): Promise<number>;
  /** The writer: resolves with the time its replica had pushed `id` (its sync done, nothing pending). */
  pushed(id: string): Promise<number>;
  /** chainsync: the replica's status (leader, last sync). */
  status(): Promise<unknown>;
  /**
   * Makes the page report itself as `state` through the real path (the events the client listens
   * to: `visibilitychange`, `focus`, `blur`), with `document.visibilityState` and `hasFocus()`
   * stubbed: headless Chromium reports every page visible and focused.
   */
  look(state: 'focused' | 'visible' | 'hidden'): void;
  close(): Promise<void>;
}

declare global {
  interface Window {
    liveBench?: LiveBench;
    liveBenchError?: string;
  }
}

/** Ids a reader waits for, and when it saw them. */
class Sightings {
  readonly #seen = new Map<string, number>();
  readonly #waiting = new Map<string, (at: number) => void>();
  readonly #expected = new Set<string>();

  expect(id: string): void {
    this.#expected.add(id);
  }

  /** The handler saw these ids now. */
  saw(ids: Iterable<string>): void {
    const at = now();
    for (const id of ids) {
      if (!this.#expected.delete(id)) continue;
      this.#seen.set(id, at);
      this.#waiting.get(id)?.(at);
      this.#waiting.delete(id);
    }
  }

  pending(): readonly string[] {
    return [...this.#expected];
  }

  seen(id: string): Promise<number> {
    const at = this.#seen.get(id);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }
}

function lookAs(state: 'focused' | 'visible' | 'hidden'): void {
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    get: () => (state === 'hidden' ? 'hidden' : 'visible'),
  });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });
  document.hasFocus = () => state === 'focused';
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  window.dispatchEvent(new Event(state === 'focused' ? 'focus' : 'blur'));
}

/** The reference server at `server`, or the S3 bucket `s3` names. */
function remoteConfig(prefix: string): RemoteConfig {
  if (s3 === null) return { kind: 'http', url: server!, prefix };
  const bucket = JSON.parse(s3) as {
    endpoint: string;
    bucket: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
  };
  return { kind: 's3', ...bucket, prefix };
}

async function chainsync(): Promise<LiveBench> {
  const sightings = new Sightings();
  // Default schedule: debounce 250 ms, interval 30 s, live watch on.
  const replica: ReplicaClient = await openReplica({
    name: name!,
    clientId: set!,
    remote: remoteConfig(`live-bench/${set}`),
  });
  if (role === 'reader') {
    // Called with the whole collection on every change: the pulled ids the writer wrote.
    replica.watch(COLLECTION, (objects) => {
      const pending = new Set(sightings.pending());
      if (pending.size > 0) sightings.saw(objects.map((o) => o.id).filter((id) => pending.has(id)));
    });
  }
  /** The last sync() the writer started: closing waits for it. */
  let syncing: Promise<unknown> = Promise.resolve();
  const pushes = new Sightings();
  let writtenAt = 0;
  replica.onStatus((status) => {
    // A sync that ended after the last write with nothing left to push carried it.
    if (status.pending === 0 && !status.syncing && (status.lastSyncAt ?? 0) >= writtenAt)
      pushes.saw(pushes.pending());
  });
  return {
    async write(id, options = {}) {
      const at = now();
      writtenAt = Date.now();
      pushes.expect(id);
      await replica.create(COLLECTION, id, { at });
      if (options.sync)
        syncing = replica.sync().catch((error: unknown) => console.error('sync failed', error));
      return at;
    },
    expect: (id) => sightings.expect(id),
    seen: (id) => sightings.seen(id),
    pushed: (id) => pushes.seen(id),
    status: () => replica.status(),
    look: lookAs,
    async close() {
      await syncing;
      await replica.close();
    },
  };
}

async function pouchdb(): Promise<LiveBench> {
  const sightings = new Sightings();
  const local = new PouchDB(name!);
  const remote = new PouchDB(new URL(set!, server!).href, { skip_setup: true });
  // PouchDB's live replication (`live: true`, `retry: true`): the writer pushes, the reader pulls.
  const replication =
    role === 'writer'
      ? local.replicate.to(remote, { live: true, retry: true })
      : local.replicate.from(remote, { live: true, retry: true });
  replication.on('error', (error: unknown) => console.error('replication failed', error));
  const pushes = new Sightings();
  // The push replication's batches: these documents are on the server now.
  replication.on('change', (info: { docs: { _id: string }[] }) => pushes.saw(info.docs.map((d) => d._id)));
  const changes = local
    .changes({ since: 'now', live: true })
    .on('change', (change: { id: string }) => sightings.saw([change.id]));
  return {
    async write(id) {
      const at = now();
      pushes.expect(id);
      await local.put({ _id: id, at });
      return at;
    },
    expect: (id) => sightings.expect(id),
    seen: (id) => sightings.seen(id),
    pushed: (id) => pushes.seen(id),
    status: async () => ({}),
    look: lookAs,
    async close() {
      changes.cancel();
      replication.cancel();
      await local.close();
    },
  };
}

(lib === 'chainsync' ? chainsync() : pouchdb()).then(
  (bench) => (window.liveBench = bench),
  (error: unknown) => (window.liveBenchError = String((error as Error)?.stack ?? error)),
);
