/**
 * Peers measured in the same run as the sync page's workloads (issue 13 part 3): PouchDB's
 * replication beside chainsync's push-pull, Dexie's `bulkPut` beside the bootstrap. Each mirrors
 * what chainsync's row times (bench/sync-main.ts), in the same page of the same Chromium (on-disk
 * profile), so that the ratios compare the libraries, not the machine's load at two moments.
 */
import Dexie from 'dexie';
import PouchDB, { type Doc, type ReplicationOptions } from 'pouchdb-browser';
import { check } from './stats.js';

/** One push-pull's two timed parts, in milliseconds. */
export interface PushPullTimes {
  readonly push: number;
  readonly pull: number;
}

/**
 * One PouchDB push-pull of `count` small documents, shaped as chainsync's: two fresh local
 * databases (PouchDB's IndexedDB adapter) and a fresh database on the CouchDB-protocol server at
 * `serverUrl` (express-pouchdb, bench/pouchdb-server.mjs). A writes a seed and replicates it to the
 * server, B replicates it from there (B's checkpoint is past A's first change, as chainsync's B is
 * past A's first version: what follows is pulled, not a first sync); A writes the `count` documents
 * locally in one `bulkDocs` (not timed, as chainsync's `change` is not). Timed, as chainsync's row
 * is: A's one-shot replication to the server (push), then B's from it (pull), each until its
 * promise resolves. `options` go to both replications (PouchDB's defaults without).
 */
export async function pouchPushPull(
  serverUrl: string,
  count: number,
  options: ReplicationOptions = {},
): Promise<PushPullTimes> {
  const tag = `${Date.now()}-${crypto.randomUUID()}`;
  // Without skip_setup, the first request (the seed's push, not timed) creates the database.
  const remote = new PouchDB(new URL(`push-pull-${tag}`, serverUrl).href);
  const a = new PouchDB(`pouch-push-pull-a-${tag}`);
  const b = new PouchDB(`pouch-push-pull-b-${tag}`);
  try {
    await a.put({ _id: 'seed', collection: 'tasks' });
    await a.replicate.to(remote, options);
    await b.replicate.from(remote, options);
    const docs: Doc[] = Array.from({ length: count }, (_, i) => ({
      _id: `op-${String(i).padStart(6, '0')}`,
      collection: 'tasks',
    }));
    const written = await a.bulkDocs(docs);
    check(
      written.every((r) => r.ok === true),
      'A wrote every document locally',
    );
    const t0 = performance.now();
    const pushed = await a.replicate.to(remote, options);
    const t1 = performance.now();
    const pulled = await b.replicate.from(remote, options);
    const t2 = performance.now();
    check(pushed.ok && pushed.docs_written === count, `A pushed ${pushed.docs_written} documents`);
    check(pulled.ok && pulled.docs_written === count, `B pulled ${pulled.docs_written} documents`);
    check((await b.info()).doc_count === count + 1, 'B holds every document');
    return { push: t1 - t0, pull: t2 - t1 };
  } finally {
    await a.destroy();
    await b.destroy();
    await remote.destroy();
  }
}

/**
 * Dexie's `bulkPut` of `rows` into a fresh table keyed as raw idb's baseline store is
 * (`[collection+id]`), with the baseline's durability (`relaxed`); resolves with the time of the
 * `bulkPut` alone (the database is opened before, as the baseline's is).
 */
export async function dexieBulkPut(
  rows: readonly { readonly collection: string; readonly id: string }[],
): Promise<number> {
  const name = `chainsync-sync-bench-dexie-${Date.now()}-${crypto.randomUUID()}`;
  const db = new Dexie(name, { chromeTransactionDurability: 'relaxed' });
  db.version(1).stores({ objects: '[collection+id]' });
  await db.open();
  try {
    const table = db.table('objects');
    const t0 = performance.now();
    await table.bulkPut(rows as object[]);
    const ms = performance.now() - t0;
    check((await table.count()) === rows.length, 'Dexie holds every object');
    return ms;
  } finally {
    db.close();
    await Dexie.delete(name);
  }
}
