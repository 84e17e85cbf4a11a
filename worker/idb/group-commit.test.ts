/**
 * Group commit (issue 13 part 1) on the engine's IndexedDB contracts: concurrent writes share few
 * transactions, each keeps its own result, CAS is decided in arrival order, an aborted group
 * transaction rejects all of its writes with nothing written, and watchers see commit order.
 * Transactions are counted by wrapping `IDBDatabase.prototype.transaction`, never by timing.
 * In Node on fake-indexeddb, in the browsers on their own IndexedDB.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KvChange } from '../../src/contracts/cas-kv.js';
import type { StoredObject } from '../../src/contracts/replica.js';
import { b, rejectsWith, s } from '../../src/testing/conformance/support.js';
import {
  countReadwriteTransactions,
  type TransactionCounter,
} from '../../src/test-support/idb-transactions.js';
import { outcomeCodes } from '../../src/test-support/settled.js';
import { expectPutsStored } from '../../src/test-support/kv-puts.js';

// Node has no IndexedDB: install fake-indexeddb there; the browser keeps its own.
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
const { openIdbStore } = await import('./index.js');
const { IdbReplicaStore } = await import('./idb-replica-store.js');
const { together } = await import('./group-commit.js');
const { Replica } = await import('../../src/sync/replica.js');

const restores: Array<() => void> = [];
afterEach(() => {
  for (const restore of restores.splice(0).reverse()) restore();
});

/** Replaces `proto[name]` for the current test (undone after it). */
function patch<T extends object, K extends keyof T>(proto: T, name: K, make: (original: T[K]) => T[K]): void {
  const original = proto[name];
  proto[name] = make(original);
  restores.push(() => (proto[name] = original));
}

/** Routes every `IDBObjectStore.put` of the current test through `hook` (`issue` makes the real one). */
function onPut(
  hook: (store: IDBObjectStore, key: unknown, issue: () => IDBRequest, value: unknown) => IDBRequest,
): void {
  patch(
    IDBObjectStore.prototype,
    'put',
    (put) =>
      function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
        return hook(this, args[1], () => put.apply(this, args), args[0]);
      } as typeof put,
  );
}

/** Counts the readwrite transactions started on `store` during the current test. */
function countWrites(store: string): TransactionCounter {
  const counter = countReadwriteTransactions(store);
  restores.push(counter.restore);
  return counter;
}

/** A store whose database is open (so the first write's transaction starts synchronously). */
async function openStore() {
  const store = openIdbStore(`group-${crypto.randomUUID()}`);
  await store.kv.get('warm-up');
  return store;
}

describe('group commit: CasKv', () => {
  it('N concurrent puts share two transactions: the first starts at once, the rest join the next', async () => {
    const { kv } = await openStore();
    const writes = countWrites('kv');
    const N = 100;
    const puts: Promise<string>[] = [];
    for (let i = 0; i < N; i++) {
      puts.push(kv.put(`k${String(i).padStart(3, '0')}`, b(`v${i}`)));
      // An uncontended write does not wait for company: its transaction exists before put returns.
      if (i === 0) expect(writes.count()).toBe(1);
    }
    const versions = await Promise.all(puts);
    expect(writes.count()).toBe(2);
    await expectPutsStored(kv, 'k', versions);
  });

  it('mixed CAS successes and refusals in one group: each gets its own result, the good ones commit', async () => {
    const { kv } = await openStore();
    const live = await kv.put('live', b('old'));
    await kv.put('taken', b('here'));
    const writes = countWrites('kv');
    const first = kv.put('first', b('starts the transaction in flight'));
    const settled = await Promise.allSettled([
      kv.create('new', b('created')),
      kv.create('taken', b('refused')),
      kv.update('live', b('stale'), 'not-a-version'),
      kv.update('live', b('new'), live),
      kv.deleteWithVersion('absent', live),
      kv.batch([
        { op: 'put', key: 'batch-a', value: b('a') },
        { op: 'create', key: 'taken', value: b('refused too') },
      ]),
      kv.put('blind', b('blind')),
    ]);
    await first;
    expect(writes.count()).toBe(2);
    expect(settled.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    const codes = settled.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : null));
    expect(codes).toEqual([
      null,
      'ALREADY_EXISTS',
      'REVISION_MISMATCH',
      null,
      'REVISION_MISMATCH',
      'ALREADY_EXISTS',
      null,
    ]);
    expect(await kv.keys()).toEqual(['blind', 'first', 'live', 'new', 'taken']);
    expect(s((await kv.get('live'))?.value)).toBe('new');
    expect(s((await kv.get('taken'))?.value)).toBe('here');
    // The refused batch wrote nothing, not even its good op.
    expect(await kv.entry('batch-a')).toBeNull();
  });

  it('arrival order decides CAS inside a group: each write sees the ones before it', async () => {
    const { kv } = await openStore();
    const v0 = await kv.put('u', b('0'));
    await kv.put('gone', b('x'));
    const writes = countWrites('kv');
    const first = kv.put('first', b('in flight'));
    const [created, second, v1, staleUpdate, deleted, recreated] = await Promise.allSettled([
      kv.create('c', b('first')),
      kv.create('c', b('second')),
      kv.update('u', b('1'), v0),
      kv.update('u', b('stale'), v0),
      kv.delete('gone'),
      kv.create('gone', b('again')),
    ]);
    await first;
    expect(writes.count()).toBe(2);
    expect(created.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((second as PromiseRejectedResult).reason), 'ALREADY_EXISTS');
    expect(v1.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((staleUpdate as PromiseRejectedResult).reason), 'REVISION_MISMATCH');
    expect(deleted).toEqual({ status: 'fulfilled', value: true });
    expect(recreated.status).toBe('fulfilled');
    expect(s((await kv.get('c'))?.value)).toBe('first');
    expect((await kv.get('u'))?.version).toBe((v1 as PromiseFulfilledResult<string>).value);
    expect(s((await kv.get('gone'))?.value)).toBe('again');
  });

  it('an aborted group transaction (quota at commit) rejects every write in it and writes none', async () => {
    const { kv } = await openStore();
    await kv.put('kept', b('before'));
    const writes = countWrites('kv');
    // The browser refuses the commit for lack of space: the transaction aborts with that error.
    onPut((store, key, issue) => {
      const request = issue();
      if (key === 'quota') {
        const error = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        // The reason the browser gives (the engine's own abort would leave it null).
        Object.defineProperty(store.transaction, 'error', {
          configurable: true,
          get: () => error,
          set: () => {},
        });
        store.transaction.abort();
      }
      return request;
    });
    const first = kv.put('first', b('in flight'));
    const group = [
      kv.put('a', b('1')),
      kv.create('b', b('2')),
      kv.batch([
        { op: 'put', key: 'c', value: b('3') },
        { op: 'delete', key: 'kept' },
      ]),
      kv.put('quota', b('the last write fills the disk')),
    ];
    await first;
    for (const write of group) await rejectsWith(write, 'QUOTA_EXCEEDED');
    expect(writes.count()).toBe(2);
    expect(await kv.keys()).toEqual(['first', 'kept']);
    expect(s((await kv.get('kept'))?.value)).toBe('before');
  });

  it('one write failing unexpectedly (not a refusal) fails alone: the others run again and commit', async () => {
    const { kv } = await openStore();
    const writes = countWrites('kv');
    onPut((_, key, issue) => {
      if (key === 'bad') throw new DOMException('could not be cloned', 'DataCloneError');
      return issue();
    });
    const first = kv.put('first', b('in flight'));
    const [a, bad, c] = await Promise.allSettled([
      kv.put('a', b('1')),
      kv.batch([
        { op: 'put', key: 'half', value: b('never') },
        { op: 'put', key: 'bad', value: b('x') },
      ]),
      kv.put('c', b('3')),
    ]);
    await first;
    expect(a.status).toBe('fulfilled');
    expect(bad.status === 'rejected' && (bad.reason as DOMException).name).toBe('DataCloneError');
    expect(c.status).toBe('fulfilled');
    // The first alone, the group that aborted, the group again without the failing write.
    expect(writes.count()).toBe(3);
    expect(await kv.keys()).toEqual(['a', 'c', 'first']);
  });

  it('watchers see each group’s changes in commit order', async () => {
    const { kv } = await openStore();
    const seen: string[] = [];
    const batches: string[][] = [];
    await kv.watch('', (change: KvChange) => seen.push(`${change.type}:${change.key}`));
    kv.onChanges((changes) => batches.push(changes.map((c) => c.key)));
    const writes = countWrites('kv');
    const all = [
      kv.put('k', b('1')),
      kv.put('k', b('2')),
      kv.create('j', b('1')),
      kv.delete('k'),
      kv.create('k', b('3')),
    ];
    await Promise.all(all);
    expect(writes.count()).toBe(2);
    expect(seen).toEqual(['put:k', 'put:k', 'put:j', 'delete:k', 'put:k']);
    expect(batches).toEqual([['k'], ['k'], ['j'], ['k'], ['k']]);
    expect(s((await kv.get('k'))?.value)).toBe('3');
  });
});

describe('group commit: Consensus', () => {
  it('concurrent compare-and-sets share a transaction and are decided in arrival order', async () => {
    const { consensus } = await openStore();
    const writes = countWrites('consensusHeads');
    const data = (text: string) => ({ data: b(text) });
    const first = consensus.compareAndSet('other', null, { seqno: 0n, ...data('in flight') });
    const results = await Promise.all([
      consensus.compareAndSet('k', null, { seqno: 0n, ...data('a') }),
      consensus.compareAndSet('k', null, { seqno: 0n, ...data('b') }),
      consensus.compareAndSet('k', 0n, { seqno: 1n, ...data('c') }),
      ...Array.from({ length: 20 }, (_, i) =>
        consensus.compareAndSet(`n${i}`, null, { seqno: 5n, ...data('n') }),
      ),
    ]);
    expect(await first).toBe('Committed');
    expect(writes.count()).toBe(2);
    expect(results.slice(0, 3)).toEqual(['Committed', 'ExpectationMismatch', 'Committed']);
    expect(results.slice(3).every((r) => r === 'Committed')).toBe(true);
    const log = await consensus.scan('k', 0n);
    expect(log.map((v) => [v.seqno, s(v.data)])).toEqual([
      [0n, 'a'],
      [1n, 'c'],
    ]);
    expect((await consensus.listKeys()).length).toBe(22);
  });

  it('a truncate refused in a group fails alone', async () => {
    const { consensus } = await openStore();
    await consensus.compareAndSet('k', null, { seqno: 0n, data: b('0') });
    await consensus.compareAndSet('k', 0n, { seqno: 1n, data: b('1') });
    const writes = countWrites('consensusHeads');
    const first = consensus.compareAndSet('other', null, { seqno: 0n, data: b('in flight') });
    const [absent, beyond, cas, truncated] = await Promise.allSettled([
      consensus.truncate('absent', 0n),
      consensus.truncate('k', 9n),
      consensus.compareAndSet('k', 1n, { seqno: 2n, data: b('2') }),
      consensus.truncate('k', 2n),
    ]);
    await first;
    expect(writes.count()).toBe(2);
    await rejectsWith(Promise.reject((absent as PromiseRejectedResult).reason), 'NOT_FOUND');
    await rejectsWith(Promise.reject((beyond as PromiseRejectedResult).reason), 'INVALID_ARGUMENT');
    expect(cas).toEqual({ status: 'fulfilled', value: 'Committed' });
    // It saw the compare-and-set before it: 2 is the head, so 0 and 1 go.
    expect(truncated).toEqual({ status: 'fulfilled', value: 2 });
    expect((await consensus.scan('k', 0n)).map((v) => v.seqno)).toEqual([2n]);
  });
});

describe('group commit: Storage commits', () => {
  const NIL = '00000000-0000-0000-0000-000000000000';

  it('concurrent applies share a transaction; a conflict or a taken version refuses only its own', async () => {
    const { storage } = await openStore();
    const access = storage.access;
    const [a, c, d] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const v1 = crypto.randomUUID();
    const client = (latestVersionId: string) => ({ latestVersionId, snapshot: null });
    const version = (versionId: string, parentVersionId: string) => ({
      versionId,
      parentVersionId,
      historySegment: b(versionId),
    });
    const vc = crypto.randomUUID();
    await access.apply(c, null, {
      client: client(vc),
      created: true,
      snapshot: null,
      versions: [version(vc, NIL)],
    });
    const cBase = await access.readClient(c);
    const writes = countWrites('clients');
    const first = access.apply(crypto.randomUUID(), null, {
      client: client(NIL),
      created: true,
      snapshot: null,
      versions: [],
    });
    const settled = await Promise.allSettled([
      access.apply(a, null, {
        client: client(v1),
        created: true,
        snapshot: null,
        versions: [version(v1, NIL)],
      }),
      // The same base as the one before it: that one committed first in the group.
      access.apply(a, null, { client: client(NIL), created: true, snapshot: null, versions: [] }),
      // A reused version id: refused by reading, before it writes (the others still commit).
      access.apply(c, cBase, {
        client: client(vc),
        created: false,
        snapshot: null,
        versions: [version(vc, vc)],
      }),
      access.apply(d, null, {
        client: client(v1),
        created: true,
        snapshot: null,
        versions: [version(crypto.randomUUID(), NIL)],
      }),
    ]);
    await first;
    expect(writes.count()).toBe(2);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    await rejectsWith(Promise.reject((settled[1] as PromiseRejectedResult).reason), 'TRANSACTION_CONFLICT');
    await rejectsWith(Promise.reject((settled[2] as PromiseRejectedResult).reason), 'ALREADY_EXISTS');
    expect((await access.readClient(a))?.revision).toBe(1);
    expect((await access.readClient(c))?.revision).toBe(1);
    expect((await access.readClient(d))?.revision).toBe(1);
  });
});

describe('group commit: the replica store', () => {
  it('concurrent commits share a transaction; data IndexedDB cannot store fails its own commit alone', async () => {
    const store = await openStore();
    const replica = new IdbReplicaStore(store.connection);
    const state = await replica.readState();
    const writes = countWrites('replicaOverlay');
    const object = (id: string, properties: Record<string, unknown>): StoredObject =>
      ({ collection: 'c', id, properties }) as StoredObject;
    const first = replica.commit({ putObjects: [object('first', { n: 0 })] });
    const [a, bad, queued] = await Promise.allSettled([
      replica.commit({ putObjects: [object('a', { n: 1 })] }),
      replica.commit({ putObjects: [object('half', { n: 2 }), object('bad', { f: () => 1 })] }),
      replica.commit({
        appendPending: [{ seq: 1, op: { type: 'create', ...object('q', { n: 3 }) } } as never],
        state: { ...state, nextSeq: 2 },
      }),
    ]);
    await first;
    expect(a.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((bad as PromiseRejectedResult).reason), 'INVALID_ARGUMENT');
    expect(queued.status).toBe('fulfilled');
    // The first alone, the group that aborted on the bad data, the group again without it.
    expect(writes.count()).toBe(3);
    expect((await replica.listObjects()).map((o) => o.id)).toEqual(['a', 'first']);
    expect(await replica.countPending()).toBe(1);
    expect((await replica.readState()).nextSeq).toBe(2);
  });
});

describe('group commit: the replica’s writes', () => {
  it('concurrent creates and updates share one commit: each its own queue entries, refusals alone, changes in order', async () => {
    const store = await openStore();
    const replicaStore = new IdbReplicaStore(store.connection);
    const replica = await Replica.open({ store: replicaStore, clock: () => 7 });
    await replica.create('c', 'taken', { n: 0 });
    const events: string[] = [];
    replica.subscribe((event) =>
      events.push(event.objects === 'all' ? 'all' : event.objects.map((o) => o.id).join('+')),
    );
    const writes = countWrites('replicaOverlay');
    const N = 50;
    const id = (i: number) => `o${String(i).padStart(2, '0')}`;
    const settled = await Promise.allSettled([
      ...Array.from({ length: N }, (_, i) => replica.create('c', id(i), { n: i })),
      replica.create('c', 'taken', { n: -1 }),
      replica.update('c', 'missing', { n: -1 }),
      // Checked after the create before it: the object exists.
      replica.update('c', id(0), { n: 100 }),
      // A refused call writes nothing, not even its good change.
      replica.change([
        { type: 'create', collection: 'c', id: 'half' },
        { type: 'create', collection: 'c', id: id(1) },
      ]),
      // (replica.delete reads first, so it would come to the lock after the group started.)
      replica.change([{ type: 'delete', collection: 'c', id: 'taken' }]),
    ]);
    expect(writes.count()).toBe(1);
    expect(outcomeCodes(settled)).toEqual([
      ...Array.from({ length: N }, () => null),
      'ALREADY_EXISTS',
      'NOT_FOUND',
      null,
      'ALREADY_EXISTS',
      null,
    ]);
    expect(events).toEqual([...Array.from({ length: N }, (_, i) => id(i)), id(0), 'taken']);
    const objects = await replica.list('c');
    expect(objects.map((o) => o.id)).toEqual(Array.from({ length: N }, (_, i) => id(i)));
    expect(objects[0]?.properties).toEqual({ n: 100 });
    // 1 + 1 for the first create, then per create its create and its property, the update, the delete.
    const pending = await replicaStore.getPending();
    const first = pending[0]?.seq ?? NaN;
    expect(pending.map((p) => p.seq)).toEqual(Array.from({ length: 2 + 2 * N + 2 }, (_, i) => first + i));
    expect(pending.slice(2, 4).map((p) => [p.op.type, p.op.id])).toEqual([
      ['create', id(0)],
      ['update', id(0)],
    ]);
    expect(pending.slice(-2).map((p) => [p.op.type, p.op.id])).toEqual([
      ['update', id(0)],
      ['delete', 'taken'],
    ]);
  });
});

describe('group commit: the replica’s writes, when the shared commit fails', () => {
  it('each write is recorded again on its own: only the one that cannot be stored fails', async () => {
    const store = await openStore();
    const replica = await Replica.open({ store: new IdbReplicaStore(store.connection), clock: () => 7 });
    await replica.list('c'); // the database is open
    const writes = countWrites('replicaOverlay');
    // The disk fills whenever the object 'huge' is written: its transaction aborts at commit.
    onPut((objectStore, _key, issue, value) => {
      const request = issue();
      if ((value as { id?: unknown } | null)?.id === 'huge') {
        const error = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        Object.defineProperty(objectStore.transaction, 'error', { configurable: true, get: () => error });
        objectStore.transaction.abort();
      }
      return request;
    });
    const [a, huge, c] = await Promise.allSettled([
      replica.create('c', 'a', { n: 1 }),
      replica.create('c', 'huge', { n: 2 }),
      replica.create('c', 'c', { n: 3 }),
    ]);
    expect(a.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((huge as PromiseRejectedResult).reason), 'QUOTA_EXCEEDED');
    expect(c.status).toBe('fulfilled');
    // The shared one that aborted, then each alone.
    expect(writes.count()).toBe(4);
    expect((await replica.list('c')).map((o) => o.id)).toEqual(['a', 'c']);
    expect(await replica.pendingCount()).toBe(4);
  });
});

describe('GroupCommit', () => {
  it('a committed() hook that throws leaves no write hanging: it and the rest of its group resolve', async () => {
    const { GroupCommit } = await import('./group-commit.js');
    const store = await openStore();
    const group = new GroupCommit(store.connection, ['kv']);
    // Reported as the engine reports a listener that threw (Subscribable): on the console.
    const reported = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    restores.push(() => reported.mockRestore());
    const put = (key: string, committed?: () => void) =>
      group.write({
        run: (tx) => void tx.objectStore('kv').put({ value: b(key), version: key }, key),
        committed,
      });
    const first = put('first');
    const results = await Promise.all([
      put('a', () => {
        throw new Error('a listener failed');
      }),
      put('b'),
    ]);
    await first;
    expect(results).toEqual([undefined, undefined]);
    await put('after');
    expect(reported.mock.calls.map((call) => (call[1] as Error).message)).toEqual(['a listener failed']);
    expect(await store.kv.keys()).toEqual(['a', 'after', 'b', 'first']);
  });

  it('writes issued inside together() share one transaction, started as its body returns', async () => {
    const { kv, consensus } = await openStore();
    const writes = countWrites('kv');
    const cas = countWrites('consensusHeads');
    const N = 50;
    const puts = together(() => {
      const issued = Array.from({ length: N }, (_, i) => kv.put(`t${String(i).padStart(2, '0')}`, b(`${i}`)));
      issued.push(kv.create('t00', b('refused: the first put came before it')));
      // Held for the group: no transaction for the first write alone.
      expect(writes.count()).toBe(0);
      return issued;
    });
    // Started before together() returned: the held writes wait for nothing later.
    expect(writes.count()).toBe(1);
    const cases = together(() => [
      consensus.compareAndSet('c', null, { seqno: 0n, data: b('a') }),
      consensus.compareAndSet('c', null, { seqno: 0n, data: b('b') }),
    ]);
    const settled = await Promise.allSettled(puts);
    expect(settled.slice(0, N).every((r) => r.status === 'fulfilled')).toBe(true);
    await rejectsWith(Promise.reject((settled[N] as PromiseRejectedResult).reason), 'ALREADY_EXISTS');
    expect(await Promise.all(cases)).toEqual(['Committed', 'ExpectationMismatch']);
    expect(writes.count()).toBe(1);
    expect(cas.count()).toBe(1);
    expect((await kv.scan('t')).map((item) => s(item.value))).toEqual(
      Array.from({ length: N }, (_, i) => `${i}`),
    );
  });

  it('a together() body that throws still commits the writes it issued', async () => {
    const { kv } = await openStore();
    let put: Promise<string> | undefined;
    expect(() =>
      together(() => {
        put = kv.put('issued', b('before the throw'));
        throw new Error('the body failed');
      }),
    ).toThrow('the body failed');
    await put;
    expect(s((await kv.get('issued'))?.value)).toBe('before the throw');
  });
});
