import 'fake-indexeddb/auto';
import { deleteDB, openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { rejectsWith } from '../../src/testing/conformance/support.js';
import { openIdbStore } from './index.js';

const b = (text: string) => new TextEncoder().encode(text);
const s = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const unique = () => `conn-${crypto.randomUUID()}`;

describe('IdbConnection', () => {
  it('closes on another tab’s version change (which is not blocked) and reopens on the next call', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('a', b('1'));
    let blocked = false;
    // Deleting needs every connection closed: it would hang (blocked) if ours stayed open.
    await deleteDB(store.connection.name, { blocked: () => (blocked = true) });
    expect(blocked).toBe(false);
    expect(await store.kv.get('a')).toBeNull();
    await store.kv.put('a', b('2'));
    expect(s((await store.kv.get('a'))?.value)).toBe('2');
  });

  it('keeps working after a newer app version upgraded the schema with extra stores', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    const newer = await openDB(store.connection.name, 7, {
      upgrade: (db) => void db.createObjectStore('fromTheFuture'),
    });
    newer.close();
    expect(s((await store.kv.get('k'))?.value)).toBe('v');
    await store.kv.put('k', b('w'));
    expect(s((await store.kv.get('k'))?.value)).toBe('w');
  });

  it('refuses with STORE_CLOSED a database upgraded without the stores it needs', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    const newer = await openDB(store.connection.name, 9, {
      upgrade: (db) => db.deleteObjectStore('kv'),
    });
    newer.close();
    await rejectsWith(store.kv.get('k'), 'STORE_CLOSED');
  });

  it('close() resolves once the transaction running under it is over, and the database is then closed', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    let started = false;
    let release = false;
    const order: string[] = [];
    // A transaction kept running (one request after another) until the test lets it end.
    const writing = store.connection
      .write(['kv'], async (tx) => {
        started = true;
        while (!release) await tx.objectStore('kv').get('k');
      })
      .then(() => order.push('written'));
    while (!started) await new Promise((resolve) => setTimeout(resolve, 1));
    // Two calls (the engine closes on a deletion, then on the page's close()): both wait.
    const closing = Promise.all([store.close(), store.connection.close()]).then(() => order.push('closed'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]); // still running: not closed yet
    release = true;
    await Promise.all([writing, closing]);
    // Both once the transaction is over (in either order: each is a reaction to its end).
    expect(order.sort()).toEqual(['closed', 'written']);
    let blocked = false;
    await deleteDB(store.connection.name, { blocked: () => (blocked = true) });
    expect(blocked).toBe(false);
  });

  it('fails calls after close() with STORE_CLOSED', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    await store.close();
    await rejectsWith(store.kv.get('k'), 'STORE_CLOSED');
    await rejectsWith(store.consensus.listKeys(), 'STORE_CLOSED');
  });

  it('turns QuotaExceededError into QUOTA_EXCEEDED with nothing of the batch written', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('before', b('kept'));
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    let calls = 0;
    proto.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
      if (++calls === 3) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
    try {
      await rejectsWith(
        store.kv.batch([
          { op: 'put', key: 'x1', value: b('1') },
          { op: 'put', key: 'x2', value: b('2') },
          { op: 'put', key: 'x3', value: b('3') },
        ]),
        'QUOTA_EXCEEDED',
      );
    } finally {
      proto.put = put;
    }
    expect(await store.kv.keys()).toEqual(['before']);
  });

  it('reopens after the browser closed the connection (connection lost)', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    // What WebKit does when it drops a connection: the database is closed under us.
    const internal = await store.connection.read(['kv'], async (tx) => tx.db);
    internal.close();
    expect(s((await store.kv.get('k'))?.value)).toBe('v');
  });
});

describe('a connection lost under a transaction', () => {
  /** Makes the next call of `method` fail as WebKit does when its IndexedDB server connection drops. */
  function loseConnectionOnce(method: 'get' | 'put'): () => void {
    const proto = IDBObjectStore.prototype;
    const original = proto[method];
    let armed = true;
    proto[method] = function (this: IDBObjectStore, ...args: never[]) {
      if (armed) {
        armed = false;
        throw new DOMException('Connection to Indexed Database server lost.', 'UnknownError');
      }
      return (original as (...a: never[]) => IDBRequest).apply(this, args);
    } as never;
    return () => (proto[method] = original as never);
  }

  it('a read is retried once on a reopened connection', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    const restore = loseConnectionOnce('get');
    try {
      expect(s((await store.kv.get('k'))?.value)).toBe('v');
    } finally {
      restore();
    }
  });

  it('a write (which aborted, so wrote nothing) is run again once, and lands exactly once', async () => {
    const store = openIdbStore(unique());
    const seen: string[] = [];
    await store.kv.watch('', (c) => seen.push(`${c.type}:${c.key}`));
    const restore = loseConnectionOnce('put');
    let version: string;
    try {
      version = await store.kv.put('k', b('v'));
    } finally {
      restore();
    }
    expect((await store.kv.get('k'))?.version).toBe(version);
    expect(seen).toEqual(['put:k']);
  });

  it('a second loss in a row is reported, not retried forever', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('v'));
    const proto = IDBObjectStore.prototype;
    const get = proto.get;
    proto.get = () => {
      throw new DOMException('Connection to Indexed Database server lost.', 'UnknownError');
    };
    try {
      await expect(store.kv.get('k')).rejects.toMatchObject({ name: 'UnknownError' });
    } finally {
      proto.get = get;
    }
  });
});

describe('IdbCasKv.batch', () => {
  it('commits every op in one transaction and returns each result', async () => {
    const store = openIdbStore(unique());
    const v = await store.kv.put('u', b('old'));
    const results = await store.kv.batch([
      { op: 'put', key: 'p', value: b('1') },
      { op: 'create', key: 'c', value: b('2') },
      { op: 'update', key: 'u', value: b('new'), expected: v },
      { op: 'delete', key: 'p' },
    ]);
    expect(results).toHaveLength(4);
    expect(results[3]).toBe(true);
    expect(await store.kv.keys()).toEqual(['c', 'u']);
    expect(s((await store.kv.get('u'))?.value)).toBe('new');
  });

  it('applies nothing when one op fails', async () => {
    const store = openIdbStore(unique());
    await store.kv.put('k', b('live'));
    await rejectsWith(
      store.kv.batch([
        { op: 'put', key: 'a', value: b('1') },
        { op: 'create', key: 'k', value: b('2') },
      ]),
      'ALREADY_EXISTS',
    );
    expect(await store.kv.keys()).toEqual(['k']);
    await rejectsWith(store.kv.batch([{ op: 'nope', key: 'a' } as never]), 'INVALID_ARGUMENT');
    await rejectsWith(store.kv.batch('ops' as never), 'INVALID_ARGUMENT');
  });
});

describe('durability', () => {
  it('is relaxed for ordinary writes and strict for Storage commits that set a snapshot', async () => {
    const store = openIdbStore(unique());
    const seen: string[] = [];
    const proto = IDBDatabase.prototype;
    const transaction = proto.transaction;
    proto.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
      if (args[1] === 'readwrite') seen.push(args[2]?.durability ?? 'default');
      return transaction.apply(this, args);
    };
    try {
      await store.kv.put('k', b('v'));
      const client = crypto.randomUUID();
      const version = crypto.randomUUID();
      let txn = await store.storage.txn(client);
      await txn.newClient('00000000-0000-0000-0000-000000000000');
      await txn.addVersion(version, '00000000-0000-0000-0000-000000000000', b('segment'));
      await txn.commit();
      txn = await store.storage.txn(client);
      await txn.setSnapshot({ versionId: version, timestamp: Date.now(), versionsSince: 0 }, b('snap'));
      await txn.commit();
    } finally {
      proto.transaction = transaction;
    }
    expect(seen).toEqual(['relaxed', 'relaxed', 'strict']);
  });
});
