import { replicaStoreConformance } from '../../src/testing/conformance/index.js';
import type { StoredObject } from '../../src/contracts/replica.js';
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { rejectsWith } from '../../src/testing/conformance/support.js';
import { IdbConnection } from './connection.js';
import { upgradeSteps, type ChainsyncDb } from './schema.js';
import { IdbReplicaStore } from './idb-replica-store.js';
import { freshIdbReplicaStore } from '../../src/test-support/idb-replica-store-harness.js';

replicaStoreConformance('indexeddb (fake-indexeddb)', () => freshIdbReplicaStore('node-replica'));

describe('IdbReplicaStore on the store database', () => {
  it('a schema-1 database (written before replicas existed) is upgraded in place, its data kept', async () => {
    const name = `chainsync:upgrade-${crypto.randomUUID()}`;
    const v1 = await openDB<ChainsyncDb>(name, 1, { upgrade: (db) => upgradeSteps[0]!(db) });
    await v1.put('kv', { value: new TextEncoder().encode('old'), version: 'v1' }, 'k');
    v1.close();
    const connection = new IdbConnection(name);
    const replica = new IdbReplicaStore(connection);
    await replica.commit({ putObjects: [{ collection: 'c', id: 'a', properties: { n: 1 } }] });
    expect(await replica.listObjects()).toEqual([{ collection: 'c', id: 'a', properties: { n: 1 } }]);
    const kept = await connection.read(['kv'], (tx) => tx.objectStore('kv').get('k'));
    expect(kept?.version).toBe('v1');
    connection.close();
  });

  it('unstorable data is refused as INVALID_ARGUMENT', async () => {
    const { store } = freshIdbReplicaStore('node-typed');
    const bad = { collection: 'c', id: 'a', properties: { f: () => 1 } } as unknown as StoredObject;
    await rejectsWith(store.commit({ putObjects: [bad] }), 'INVALID_ARGUMENT');
    expect(await store.listObjects()).toEqual([]);
  });
});
