/**
 * Compaction across real processes (issue 12, the remote reruns): a compactor killed with SIGKILL
 * in the middle of its deletes, finished by another; two compactors in two processes at once.
 * The in-process variants are in remote-compaction.test.ts; these run the BUILT library in child
 * processes (compactor-process.mjs) against a live remote, so they need `npm run build` first.
 *
 * Determinism: the child's every DELETE waits for the parent's `go` (or `free`), so a kill lands
 * after exactly K deletes, while the child waits to make the next; the two compactors are both
 * held at their first delete before either may go on. No sleeps, no timing. Test support only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AtomicRemoteBackend } from '../contracts/remote-backend.js';
import type { CompactionOptions, CompactionReport, Uuid } from '../contracts/storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { RemoteStorage } from '../remote/remote-storage.js';
import { Replica } from '../sync/replica.js';
import { repoRoot } from './imports.js';
import type { LiveConnection } from './live-backends.js';
import { assertFreshBuildOf } from './server-cli.js';

/** The live remote of the rerunning file, set in its `beforeAll`. */
export interface LiveRemote {
  backend: AtomicRemoteBackend | null;
  connection: LiveConnection | null;
}

const SCRIPT = join(repoRoot, 'src/test-support/compactor-process.mjs');
const DAY = 86_400_000;
/** Versions the writer pushes; the reader stops at READER_AT, within the retention window. */
const VERSIONS = 80;
const READER_AT = 75;
const NO_SNAPSHOTS = { versions: 1e12, days: 1e12 };

/** A compactor process: its stdout lines as they come, and `go` / `free` for its delete gate. */
class Compactor {
  readonly #child: ChildProcess;
  readonly lines: string[] = [];
  readonly #watchers = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stderr = '';

  constructor(config: object) {
    this.#child = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      for (const watch of this.#watchers) watch();
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.#child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        resolve({ code, signal });
        for (const watch of this.#watchers) watch();
      }),
    );
  }

  /** Deletes it asked to make (`delete <seq>` lines) and made (`deleted <seq>`). */
  count(kind: 'delete' | 'deleted'): number {
    return this.lines.filter((line) => line.startsWith(`${kind} `)).length;
  }

  reports(): CompactionReport[] {
    return this.lines
      .filter((line) => line.startsWith('report '))
      .map((line) => JSON.parse(line.slice(7)) as CompactionReport);
  }

  send(line: string): void {
    this.#child.stdin!.write(`${line}\n`);
  }

  /** Resolves once `ready()` holds; fails if the process ends first. */
  until(ready: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const watch = () => {
        if (ready()) {
          this.#watchers.delete(watch);
          resolve();
        } else if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          this.#watchers.delete(watch);
          reject(new Error(`compactor ended before ${what}:\n${this.lines.join('\n')}\n${this.#stderr}`));
        }
      };
      this.#watchers.add(watch);
      watch();
    });
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  get stderr(): string {
    return this.#stderr;
  }
}

/**
 * The cases, run against `live()`'s remote. The rerunning file connects it (useReferenceServer or
 * useCephBucket) and calls this.
 */
export function compactionProcessCases(live: LiveRemote): void {
  const compactors: Compactor[] = [];
  beforeAll(async () => {
    for (const entry of [
      'src/remote/remote-storage.ts',
      'src/remote/http/connect.ts',
      'src/remote/http/s3-fetch.ts',
    ])
      await assertFreshBuildOf(entry);
  });
  afterEach(() => {
    for (const c of compactors.splice(0)) c.kill();
  });

  const remote = () => {
    if (!live.backend || !live.connection)
      throw new Error('no live remote connected (beforeAll did not run)');
    return { backend: live.backend, connection: live.connection };
  };

  /**
   * A chain of VERSIONS versions (each creates `t<i>`), a reader synced at READER_AT, and a
   * snapshot of the last version.
   */
  async function scene() {
    const { backend, connection } = remote();
    const prefix = `compaction-processes-${crypto.randomUUID().slice(0, 8)}`;
    const clientId: Uuid = crypto.randomUUID();
    const open = (snapshotPolicy = NO_SNAPSHOTS) =>
      Replica.open({
        store: new MemoryReplicaStore(),
        storage: new RemoteStorage(backend, { prefix }),
        clientId,
        snapshotPolicy,
      });
    const writer = await open();
    const reader = await open();
    for (let i = 0; i < VERSIONS - 1; i++) {
      await writer.create('tasks', `t${i}`, { i });
      expect((await writer.sync()).pushedVersions).toBe(1);
      if (i + 1 === READER_AT) await reader.sync();
    }
    // The last version comes from a replica for which a snapshot is urgent (versions: 1): it
    // uploads one of the head right after its push.
    const snapshotter = await open({ versions: 1, days: 1e6 });
    await snapshotter.create('tasks', `t${VERSIONS - 1}`, { i: VERSIONS - 1 });
    expect(await snapshotter.sync()).toMatchObject({ pushedVersions: 1, snapshotUploaded: true });
    const dir = `${prefix}/${clientId}/`;
    const records = async () =>
      (await backend.list!(dir)).filter((n) => /\/c\/\d+$/.test(n)).map((n) => Number(n.split('/').at(-1)));
    const head = Math.max(...(await records()));
    const options: CompactionOptions = {
      keepCommits: 10,
      keepDays: 0,
      now: Date.now() + DAY,
      maxDeletes: 40,
    };
    const start = () => {
      const c = new Compactor({ ...connection, prefix, clientId, options });
      compactors.push(c);
      return c;
    };
    const byId = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : 1);
    const expected = Array.from({ length: VERSIONS }, (_, i): [string, unknown] => [`t${i}`, { i }]).sort(
      byId,
    );
    const dump = async (r: Replica) =>
      (await r.list('tasks')).map((o): [string, unknown] => [o.id, o.properties]).sort(byId);
    /** A fresh replica bootstraps and holds everything; the reader catches up by versions. */
    const readersAreFine = async () => {
      const fresh = await open();
      expect((await fresh.sync()).reset).toBe('bootstrap');
      expect(await dump(fresh)).toEqual(expected);
    };
    const readerCatchesUp = async () => {
      expect(await reader.sync()).toMatchObject({ reset: null, pulledVersions: VERSIONS - READER_AT });
      expect(await dump(reader)).toEqual(expected);
    };
    /**
     * Every record below `floor` is gone, every one from it up is there, and no index is left
     * behind: each `i/<id>` finds its version and each `p/<parent>` its child.
     */
    const expectCompactedTo = async (floor: number) => {
      const left = (await records()).sort((a, b) => a - b);
      expect(left[0]).toBe(floor);
      expect(left).toEqual(Array.from({ length: head - floor + 1 }, (_, k) => floor + k));
      const names = await backend.list!(dir);
      const txn = await new RemoteStorage(backend, { prefix }).txn(clientId);
      const of = (kind: string) =>
        names.filter((n) => n.startsWith(`${dir}${kind}/`)).map((n) => n.slice(dir.length + 2));
      const orphans = [
        ...(await Promise.all(of('i').map(async (id) => ((await txn.getVersion(id)) ? [] : [`i/${id}`])))),
        ...(await Promise.all(
          of('p').map(async (id) => ((await txn.getVersionByParent(id)) ? [] : [`p/${id}`])),
        )),
      ].flat();
      expect(orphans).toEqual([]);
    };
    const objects = async () => (await backend.list!(dir)).length;
    return {
      backend,
      prefix,
      clientId,
      options,
      start,
      readersAreFine,
      readerCatchesUp,
      expectCompactedTo,
      objects,
    };
  }

  describe('compaction across processes', () => {
    it('a compactor killed with SIGKILL in the middle of its deletes is finished by another; readers are fine', async () => {
      const s = await scene();
      const before = await s.objects();
      const K = 50; // past the first call's 40 deletes: in the middle of the second call's
      const killed = s.start();
      for (let seq = 1; seq <= K; seq++) killed.send(`go ${seq}`);
      await killed.until(
        () => killed.count('deleted') === K && killed.count('delete') > K,
        `delete ${K + 1}`,
      );
      killed.kill();
      expect((await killed.exited).signal).toBe('SIGKILL');
      expect(killed.reports()).toHaveLength(1); // its first call ended, its second was cut off
      expect(await s.objects()).toBe(before - K);

      // Another compactor (a fresh instance here) finishes the work.
      const finisher = new RemoteStorage(s.backend, { prefix: s.prefix });
      let report: CompactionReport;
      let calls = 0;
      do report = await finisher.compact(s.clientId, s.options);
      while (report.more && ++calls < 50);
      expect(report.more).toBe(false);
      expect(report.floor).toBe(killed.reports()[0]!.floor);
      await s.expectCompactedTo(report.floor);
      await s.readersAreFine();
      await s.readerCatchesUp();
    });

    it('two compactors in two processes at once both run to the end; the data set is intact and readers are fine', async () => {
      const s = await scene();
      const a = s.start();
      const b = s.start();
      // Both raised the floor and wait at their first delete: they are compacting at once.
      await a.until(() => a.count('delete') > 0, 'its first delete');
      await b.until(() => b.count('delete') > 0, 'its first delete');
      expect(a.count('deleted') + b.count('deleted')).toBe(0);
      // Readers, while both hold the floor raised and nothing is deleted yet.
      await s.readersAreFine();
      a.send('free');
      b.send('free');
      const [ea, eb] = await Promise.all([a.exited, b.exited]);
      expect([ea, eb], a.stderr + b.stderr).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
      const [ra, rb] = [a.reports().at(-1)!, b.reports().at(-1)!];
      expect(ra).toMatchObject({ more: false, floor: rb.floor, swept: rb.floor });
      expect(rb).toMatchObject({ more: false });
      await s.expectCompactedTo(ra.floor);
      await s.readersAreFine();
      await s.readerCatchesUp();
    });
  });
}
