import { describe, expect, it } from 'vitest';
import { NIL_UUID, type Uuid } from '../contracts/storage.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { RemoteCasKv } from './remote-cas-kv.js';
import { RemoteConsensus } from './remote-consensus.js';
import { RemoteStorage } from './remote-storage.js';

/** Heavy "applied then dropped" faults plus the other kinds, on a fixed schedule. */
function faulty(seed: number): FaultyBackend {
  return new FaultyBackend(new MemoryRemoteBackend(), {
    seed,
    appliedThenDropped: 0.3,
    droppedBeforeApply: 0.1,
    failBeforeApply: 0.1,
    readFailure: 0.1,
  });
}

const retry = { delayMs: 0 };

describe('remote implementations under indeterminate faults', () => {
  for (const seed of [1, 2, 3]) {
    it(`a CasKv client loses and duplicates no write (seed ${seed})`, async () => {
      const backend = faulty(seed);
      const kv = new RemoteCasKv(backend, { prefix: 'kv', retry });
      const rounds = 60;
      // A log grown by CAS: a duplicated append shows as a repeated number, a lost one as a gap.
      await kv.create('log', utf8('[]'));
      for (let i = 0; i < rounds; i++) {
        const current = (await kv.get('log'))!;
        const log = JSON.parse(fromUtf8(current.value)) as number[];
        await kv.update('log', utf8(JSON.stringify([...log, i])), current.version);
        await kv.put(`key/${i}`, utf8(`value ${i}`));
        if (i % 3 === 0) expect(await kv.delete(`key/${i}`)).toBe(true);
      }
      expect(backend.injected.appliedThenDropped).toBeGreaterThan(10);
      expect(backend.injected.droppedBeforeApply + backend.injected.failBeforeApply).toBeGreaterThan(5);

      const clean = new RemoteCasKv(backend.inner, { prefix: 'kv' });
      const log = JSON.parse(fromUtf8((await clean.get('log'))!.value)) as number[];
      expect(log).toEqual(Array.from({ length: rounds }, (_, i) => i));
      const expectedKeys = Array.from({ length: rounds }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `key/${i}`)
        .sort();
      expect(await clean.keys('key/')).toEqual(expectedKeys);
    });

    it(`a Storage client loses and duplicates no version (seed ${seed})`, async () => {
      const backend = faulty(seed);
      const storage = new RemoteStorage(backend, { prefix: 'chain', retry });
      const client = crypto.randomUUID();
      let txn = await storage.txn(client);
      await txn.newClient(NIL_UUID);
      await txn.commit();
      const ids: Uuid[] = [];
      let parent = NIL_UUID;
      for (let i = 0; i < 50; i++) {
        txn = await storage.txn(client);
        expect((await txn.getClient())?.latestVersionId).toBe(parent);
        const id = crypto.randomUUID();
        await txn.addVersion(id, parent, utf8(`segment ${i}`));
        if (i % 10 === 9) {
          await txn.setSnapshot(
            { versionId: id, timestamp: 1_700_000_000_000 + i, versionsSince: 0 },
            utf8(`snap ${i}`),
          );
        }
        await txn.commit();
        ids.push(id);
        parent = id;
      }
      expect(backend.injected.appliedThenDropped).toBeGreaterThan(10);

      const clean = await new RemoteStorage(backend.inner, { prefix: 'chain' }).txn(client);
      const chain = await clean.getVersionsAfter(NIL_UUID, 1000);
      expect(chain.map((v) => v.versionId)).toEqual(ids);
      expect(chain.map((v) => fromUtf8(v.historySegment))).toEqual(ids.map((_, i) => `segment ${i}`));
      const got = await clean.getClient();
      expect(got?.latestVersionId).toBe(ids[49]);
      expect(got?.snapshot).toEqual({ versionId: ids[49], timestamp: 1_700_000_000_049, versionsSince: 0 });
      expect(fromUtf8((await clean.getSnapshotData(ids[49]!))!)).toBe('snap 49');
      for (const [i, id] of ids.entries()) {
        expect((await clean.getVersion(id))?.parentVersionId).toBe(i === 0 ? NIL_UUID : ids[i - 1]);
      }
    });

    it(`a Consensus client appends every seqno exactly once (seed ${seed})`, async () => {
      const backend = faulty(seed);
      const consensus = new RemoteConsensus(backend, { prefix: 'consensus', retry });
      let expected: bigint | null = null;
      for (let i = 0n; i < 40n; i++) {
        expect(await consensus.compareAndSet('log', expected, { seqno: i, data: utf8(`d${i}`) })).toBe(
          'Committed',
        );
        expected = i;
        if (i % 10n === 9n) expect(await consensus.truncate('log', i - 4n)).toBeGreaterThan(0);
      }
      expect(backend.injected.appliedThenDropped).toBeGreaterThan(5);
      const clean = new RemoteConsensus(backend.inner, { prefix: 'consensus' });
      const all = await clean.scan('log', 0n);
      expect(all.map((v) => v.seqno)).toEqual([35n, 36n, 37n, 38n, 39n]);
      expect(all.map((v) => fromUtf8(v.data))).toEqual(['d35', 'd36', 'd37', 'd38', 'd39']);
    });
  }

  it('a Storage commit whose pointer update was lost is rolled forward by the next reader', async () => {
    const inner = new MemoryRemoteBackend();
    const backend = new FaultyBackend(inner);
    const storage = new RemoteStorage(backend, { prefix: 'chain', retry });
    const client = crypto.randomUUID();
    let txn = await storage.txn(client);
    await txn.newClient(NIL_UUID);
    await txn.commit();
    // Simulate a committer that crashed right after claiming its commit record: the record exists,
    // but neither its index objects nor the client pointer were written.
    const id = crypto.randomUUID();
    const crashing = new RemoteStorage(
      {
        ...bind(inner),
        uploadConditional: async (key, data, condition) => {
          if (!key.includes('/c/')) throw new Error('crash');
          return inner.uploadConditional(key, data, condition);
        },
      },
      { prefix: 'chain', retry: { attempts: 1 } },
    );
    txn = await crashing.txn(client);
    await txn.addVersion(id, NIL_UUID, utf8('seg'));
    await txn.commit();
    expect(await inner.exists(`chain/${client}/i/${id}`)).toBe(false);

    txn = await storage.txn(client);
    expect((await txn.getClient())?.latestVersionId).toBe(id);
    expect(fromUtf8((await txn.getVersion(id))!.historySegment)).toBe('seg');
    expect((await txn.getVersionByParent(NIL_UUID))?.versionId).toBe(id);
    expect(await inner.exists(`chain/${client}/i/${id}`)).toBe(true);
  });
});

/** The backend's methods bound, so a test can override some of them in an object literal. */
function bind(backend: MemoryRemoteBackend) {
  return {
    download: backend.download.bind(backend),
    downloadVersioned: backend.downloadVersioned.bind(backend),
    upload: backend.upload.bind(backend),
    exists: backend.exists.bind(backend),
    delete: backend.delete.bind(backend),
    objectVersion: backend.objectVersion.bind(backend),
    uploadConditional: backend.uploadConditional.bind(backend),
    deleteConditional: backend.deleteConditional.bind(backend),
  };
}

describe('CasKv read-back when other clients write while a response is lost', () => {
  /** A store whose next write faults as `kind`, while `others` writes run in the meantime. */
  function setup(kind: 'appliedThenDropped' | 'droppedBeforeApply', others: number) {
    const inner = new MemoryRemoteBackend();
    const other = new RemoteCasKv(inner, { prefix: 'kv' });
    const backend: FaultyBackend = new FaultyBackend(inner, {
      [kind]: 1,
      maxConsecutiveFaults: 1,
      duringWriteFault: async () => {
        backend.enabled = false;
        for (let i = 0; i < others; i++) await other.put('k', utf8(`other ${i}`));
      },
    });
    backend.enabled = false;
    const kv = new RemoteCasKv(backend, { prefix: 'kv', retry });
    return { kv, other, arm: () => (backend.enabled = true) };
  }

  it('an applied write with another on top is recognised as applied', async () => {
    const { kv, other, arm } = setup('appliedThenDropped', 1);
    const v0 = await kv.put('k', utf8('base'));
    arm();
    const mine = await kv.update('k', utf8('mine'), v0);
    const history = (await other.get('k'))!;
    expect(fromUtf8(history.value)).toBe('other 0');
    expect(mine).not.toBe(v0);
    expect(mine).not.toBe(history.version);
  });

  it('a lost write whose slot another client took is known not applied: update reports a mismatch', async () => {
    const { kv, other, arm } = setup('droppedBeforeApply', 1);
    const v0 = await kv.put('k', utf8('base'));
    arm();
    const error = await kv.update('k', utf8('mine'), v0).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REVISION_MISMATCH' });
    expect(fromUtf8((await other.get('k'))!.value)).toBe('other 0');
  });

  it('a lost put is written once after the other client’s write', async () => {
    const { kv, other, arm } = setup('droppedBeforeApply', 1);
    await kv.put('k', utf8('base'));
    arm();
    const mine = await kv.put('k', utf8('mine'));
    expect((await other.get('k'))?.version).toBe(mine);
  });

  it('passes the indeterminate error on when too many writes landed to tell', async () => {
    const { kv, arm } = setup('appliedThenDropped', 9);
    const v0 = await kv.put('k', utf8('base'));
    arm();
    const error = await kv.update('k', utf8('mine'), v0).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REMOTE_INDETERMINATE', determinate: false });
  });
});

describe('concurrent clients under faults', () => {
  it('four CasKv clients appending by CAS lose and duplicate nothing', async () => {
    const backend = faulty(11);
    await new RemoteCasKv(backend.inner, { prefix: 'kv' }).put('log', utf8('[]'));
    const perWriter = 25;
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        const kv = new RemoteCasKv(backend, { prefix: 'kv', retry });
        for (let i = 0; i < perWriter;) {
          const current = (await kv.get('log'))!;
          const log = JSON.parse(fromUtf8(current.value)) as string[];
          try {
            await kv.update('log', utf8(JSON.stringify([...log, `${w}:${i}`])), current.version);
            i++;
          } catch (error) {
            if ((error as { code?: string }).code !== 'REVISION_MISMATCH') throw error;
            conflicts++;
          }
        }
      }),
    );
    expect(backend.injected.appliedThenDropped).toBeGreaterThan(10);
    expect(conflicts).toBeGreaterThan(0); // the clients really raced
    const log = JSON.parse(
      fromUtf8((await new RemoteCasKv(backend.inner, { prefix: 'kv' }).get('log'))!.value),
    );
    expect([...log].sort()).toEqual(
      Array.from({ length: 4 }, (_, w) => Array.from({ length: perWriter }, (_, i) => `${w}:${i}`))
        .flat()
        .sort(),
    );
  });

  it('three Storage clients building one chain lose and duplicate no version', async () => {
    const backend = faulty(12);
    const client = crypto.randomUUID();
    const init = await new RemoteStorage(backend.inner, { prefix: 'chain' }).txn(client);
    await init.newClient(NIL_UUID);
    await init.commit();
    const added = new Set<Uuid>();
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        const storage = new RemoteStorage(backend, { prefix: 'chain', retry });
        for (let n = 0; n < 20;) {
          const txn = await storage.txn(client);
          const latest = (await txn.getClient())!.latestVersionId;
          const id = crypto.randomUUID();
          try {
            await txn.addVersion(id, latest, utf8(id));
            await txn.commit();
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== 'TRANSACTION_CONFLICT' && code !== 'VERSION_CONFLICT') throw error;
            conflicts++;
            continue;
          }
          added.add(id);
          n++;
        }
      }),
    );
    expect(backend.injected.appliedThenDropped).toBeGreaterThan(10);
    expect(conflicts).toBeGreaterThan(0);
    const txn = await new RemoteStorage(backend.inner, { prefix: 'chain' }).txn(client);
    const chain = await txn.getVersionsAfter(NIL_UUID, 1000);
    expect(chain.length).toBe(60);
    expect(new Set(chain.map((v) => v.versionId))).toEqual(added);
    expect((await txn.getClient())?.latestVersionId).toBe(chain[59]?.versionId);
  });
});

describe('read-back without retries', () => {
  it('reports an applied write as applied even when no retry is allowed', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend(), {
      appliedThenDropped: 1,
      maxConsecutiveFaults: 1,
    });
    const kv = new RemoteCasKv(backend, { prefix: 'kv', retry: { attempts: 1 } });
    const version = await kv.put('k', utf8('v'));
    expect(backend.injected.appliedThenDropped).toBe(1);
    expect((await new RemoteCasKv(backend.inner, { prefix: 'kv' }).get('k'))?.version).toBe(version);
  });
});

describe('Storage read-back when another client commits while a response is lost', () => {
  async function setup(kind: 'appliedThenDropped' | 'droppedBeforeApply') {
    const inner = new MemoryRemoteBackend();
    const other = new RemoteStorage(inner, { prefix: 'chain' });
    const client = crypto.randomUUID();
    const init = await other.txn(client);
    await init.newClient(NIL_UUID);
    await init.commit();
    const otherId = crypto.randomUUID();
    const backend: FaultyBackend = new FaultyBackend(inner, {
      [kind]: 1,
      maxConsecutiveFaults: 1,
      duringWriteFault: async () => {
        backend.enabled = false;
        const txn = await other.txn(client);
        await txn.addVersion(otherId, (await txn.getClient())!.latestVersionId, utf8('other'));
        await txn.commit();
      },
    });
    backend.enabled = false;
    const storage = new RemoteStorage(backend, { prefix: 'chain', retry });
    const txn = await storage.txn(client);
    const myId = crypto.randomUUID();
    await txn.addVersion(myId, NIL_UUID, utf8('mine'));
    backend.enabled = true;
    return { txn, myId, otherId, check: () => other.txn(client) };
  }

  it('a commit that landed before the other one is reported committed', async () => {
    const { txn, myId, otherId, check } = await setup('appliedThenDropped');
    await txn.commit();
    const view = await check();
    expect((await view.getVersionsAfter(NIL_UUID, 10)).map((v) => v.versionId)).toEqual([myId, otherId]);
  });

  it('a commit lost on the way whose slot the other client took is a TRANSACTION_CONFLICT', async () => {
    const { txn, myId, otherId, check } = await setup('droppedBeforeApply');
    await expect(txn.commit()).rejects.toMatchObject({ code: 'TRANSACTION_CONFLICT' });
    const view = await check();
    expect((await view.getVersionsAfter(NIL_UUID, 10)).map((v) => v.versionId)).toEqual([otherId]);
    expect(await view.getVersion(myId)).toBeNull();
  });
});
