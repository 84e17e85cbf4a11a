import { replicaStoreConformance } from '../../src/testing/conformance/index.js';
import type { StoredObject } from '../../src/contracts/replica.js';
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { rejectsWith } from '../../src/testing/conformance/support.js';
import { IdbConnection } from './connection.js';
import { REPLICA_STATE_KEY, upgradeSteps, type ChainsyncDb } from './schema.js';
import { INITIAL_REPLICA_STATE, type PendingOperation } from '../../src/contracts/replica-store.js';
import { IdbReplicaStore } from './idb-replica-store.js';
import { IdbProbeCacheStore } from './idb-probe-cache.js';
import { IdbBackgroundSync } from './idb-background-sync.js';
import type { ProbeCacheEntry } from '../../src/contracts/probe-cache.js';
import { freshIdbReplicaStore } from '../../src/test-support/idb-replica-store-harness.js';

replicaStoreConformance('indexeddb (fake-indexeddb)', () => freshIdbReplicaStore('node-replica'));

describe('IdbReplicaStore on the store database', () => {
  it('a schema-1 database (written before replicas existed) is upgraded in place, its data kept', async () => {
    const name = `chainsync:upgrade-${crypto.randomUUID()}`;
    const v1 = await openDB<ChainsyncDb>(name, 1, { upgrade: (db, _o, _n, tx) => upgradeSteps[0]!(db, tx) });
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

  it('a schema-2 database (a replica with state and pending edits, before the probe cache) is upgraded in place, its data kept', async () => {
    const name = `chainsync:upgrade-${crypto.randomUUID()}`;
    const v2 = await openDB<ChainsyncDb>(name, 2, {
      upgrade: (db, _o, _n, tx) => upgradeSteps.slice(0, 2).forEach((step) => step(db, tx)),
    });
    const object = { collection: 'c', id: 'a', properties: { n: 1 } };
    const pending = { seq: 1, op: { type: 'create', ...object } } as unknown as PendingOperation;
    const stateBefore = { ...INITIAL_REPLICA_STATE, nextSeq: 2 };
    await v2.put('replicaObjects', object);
    await v2.put('replicaPending', pending);
    await v2.put('replicaState', stateBefore, REPLICA_STATE_KEY);
    v2.close();
    const connection = new IdbConnection(name);
    const replica = new IdbReplicaStore(connection);
    const probes = new IdbProbeCacheStore(connection);
    const entry = { probedAt: 1, report: { kept: true } } as unknown as ProbeCacheEntry;
    await probes.put('k', entry);
    expect(await probes.get('k')).toEqual(entry);
    expect(await replica.listObjects()).toEqual([object]);
    expect(await replica.getPending()).toEqual([pending]);
    expect(await replica.readState()).toEqual(stateBefore);
    connection.close();
  });

  it('a schema-3 database (before background sync) is upgraded in place, its data kept', async () => {
    const name = `chainsync:upgrade-${crypto.randomUUID()}`;
    const v3 = await openDB<ChainsyncDb>(name, 3, {
      upgrade: (db, _o, _n, tx) => upgradeSteps.slice(0, 3).forEach((step) => step(db, tx)),
    });
    const object = { collection: 'c', id: 'a', properties: { n: 1 } };
    const entry = { probedAt: 1, report: { kept: true } } as unknown as ProbeCacheEntry;
    await v3.put('replicaObjects', object);
    await v3.put('probeCache', entry, 'k');
    v3.close();
    const connection = new IdbConnection(name);
    const background = new IdbBackgroundSync(connection);
    expect(await background.read()).toBeUndefined();
    const record = { options: { clientId: 'x' }, encrypted: false, key: null };
    await background.write(record);
    expect(await background.read()).toEqual(record);
    expect(await new IdbReplicaStore(connection).listObjects()).toEqual([object]);
    expect(await new IdbProbeCacheStore(connection).get('k')).toEqual(entry);
    connection.close();
  });

  it('unstorable data is refused as INVALID_ARGUMENT', async () => {
    const { store } = freshIdbReplicaStore('node-typed');
    const bad = { collection: 'c', id: 'a', properties: { f: () => 1 } } as unknown as StoredObject;
    await rejectsWith(store.commit({ putObjects: [bad] }), 'INVALID_ARGUMENT');
    expect(await store.listObjects()).toEqual([]);
  });
});
