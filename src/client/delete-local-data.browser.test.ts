import { afterEach, describe, expect, inject, it } from 'vitest';
import type { StoreClosedError, UnsyncedChangesError } from '../contracts/errors.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { storeDatabaseName } from '../../worker/idb/index.js';
import type { ReplicaCloseReason } from './client-replica.js';
import { deleteReplicaData } from './delete-replica-data.js';
import { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';
import { openStore } from './open-store.js';

// Workers stand in for tabs: each replica of one name has its own worker, IndexedDB connection,
// Web Locks and BroadcastChannels, exactly as a tab's would. Syncs go to the reference server the
// globalSetup started on 127.0.0.1.

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

async function tab(name: string, clientId: string, remote = true): Promise<ReplicaClient> {
  const options: OpenReplicaOptions = {
    name,
    clientId,
    schedule: { syncOnStart: false, intervalMs: 0 },
    ...(remote ? { remote: { kind: 'http', url: serverUrl, prefix: `del-${clientId}` } } : {}),
  };
  const replica = await openReplica(options);
  opened.push(replica);
  return replica;
}

/** Resolves with the reason `replica` closes for. */
const closed = (replica: ReplicaClient) =>
  new Promise<ReplicaCloseReason>((resolve) => replica.onClosed(resolve));

/** Whether the browser still lists store `name`'s IndexedDB database. */
async function listed(name: string): Promise<boolean> {
  const databases = await indexedDB.databases();
  return databases.some((d) => d.name === storeDatabaseName(name));
}

describe('closing a replica and deleting its local data', () => {
  it('deleteLocalData closes every tab of the data set, which then fail typed, and removes the database with its blobs', async () => {
    const clientId = crypto.randomUUID();
    const name = `logout-${clientId}`;
    const a = await tab(name, clientId);
    const b = await tab(name, clientId);
    const bClosed = closed(b);
    await a.create('notes', 'n', { title: 'secret' });
    const photo = await a.putBlob(new Uint8Array([1, 2, 3]), 'image/png');
    await a.update('notes', 'n', { photo: photo as never });
    await a.sync();
    expect((await a.status()).pending).toBe(0);
    expect(await listed(name)).toBe(true);

    await a.deleteLocalData();

    expect(await listed(name)).toBe(false);
    expect(await bClosed).toBe('deleted');
    // One call at a time: a call made before the previous one's rejection is handled would reject
    // unhandled meanwhile (each fails at once here; WebKit reports that as an unhandled rejection).
    const calls = [
      () => b.get('notes', 'n'),
      () => b.create('notes', 'm'),
      () => b.getBlob(photo),
      () => b.status(),
    ];
    for (const call of calls) {
      const error = await rejectsWith<StoreClosedError>(call(), 'STORE_CLOSED');
      expect(error.message).toContain(`The local data of "${name}" was deleted`);
    }
    await rejectsWith(a.list('notes'), 'STORE_CLOSED');
    // Nothing was recreated by the closed tabs.
    expect(await listed(name)).toBe(false);
    // The data set is still on the remote: a new replica of it starts empty and pulls it back.
    const again = await tab(name, clientId);
    expect(await again.list('notes')).toEqual([]);
    await again.sync();
    expect(await again.get('notes', 'n')).toEqual({ title: 'secret', photo });
  });

  it('unsynced changes: refused with UNSYNCED_CHANGES, nothing closed or deleted, unless discardPending', async () => {
    const clientId = crypto.randomUUID();
    const name = `unsynced-${clientId}`;
    const a = await tab(name, clientId, false);
    const b = await tab(name, clientId, false);
    await b.create('notes', 'draft', { title: 'not synced' });
    const { pending } = await a.status();
    expect(pending).toBeGreaterThan(0);

    const refused = await rejectsWith<UnsyncedChangesError>(a.deleteLocalData(), 'UNSYNCED_CHANGES');
    expect(refused.pending).toBe(pending);
    expect(refused.message).toContain('{ discardPending: true }');
    const standalone = await rejectsWith<UnsyncedChangesError>(deleteReplicaData(name), 'UNSYNCED_CHANGES');
    expect(standalone.pending).toBe(pending);
    // Both tabs still work, and the edit is still there.
    expect(await a.get('notes', 'draft')).toEqual({ title: 'not synced' });
    await b.update('notes', 'draft', { title: 'kept' });
    expect(await listed(name)).toBe(true);

    const bClosed = closed(b);
    await a.deleteLocalData({ discardPending: true });
    expect(await bClosed).toBe('deleted');
    expect(await listed(name)).toBe(false);
  });

  it('deleteReplicaData deletes by name without opening it, and a name with no data is a no-op that creates nothing', async () => {
    const clientId = crypto.randomUUID();
    const name = `by-name-${clientId}`;
    const a = await tab(name, clientId, false);
    await a.create('notes', 'n', { title: 'x' });
    await a.close();
    expect(await listed(name)).toBe(true);
    await deleteReplicaData(name, { discardPending: true });
    expect(await listed(name)).toBe(false);

    const never = `never-opened-${clientId}`;
    await deleteReplicaData(never);
    expect(await listed(never)).toBe(false);
  });

  it('a store opened with openStore in another tab is closed too: its calls fail with STORE_CLOSED, not WORKER_TERMINATED (its worker lives on)', async () => {
    const name = `store-${crypto.randomUUID()}`;
    const store = await openStore(name);
    try {
      await store.kv.put('k', new Uint8Array([1]));
      await deleteReplicaData(name);
      expect(await listed(name)).toBe(false);
      const error = await rejectsWith<StoreClosedError>(store.kv.get('k'), 'STORE_CLOSED');
      expect(error.message).toContain(`The local data of "${name}" was deleted`);
      expect(await listed(name)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('a connection that does not close on request: onBlocked is called, and the deletion completes once it closes', async () => {
    const clientId = crypto.randomUUID();
    const name = `blocked-${clientId}`;
    const a = await tab(name, clientId, false);
    await a.create('notes', 'n', { title: 'x' });
    await a.close();
    // Foreign code holding the database open, ignoring versionchange.
    const foreign = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(storeDatabaseName(name));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    let blocked!: () => void;
    const wasBlocked = new Promise<void>((r) => (blocked = r));
    let finished = false;
    const deleting = deleteReplicaData(name, { discardPending: true, onBlocked: blocked }).then(
      () => (finished = true),
    );
    await wasBlocked;
    expect(finished).toBe(false);
    expect(await listed(name)).toBe(true);
    foreign.close();
    await deleting;
    expect(await listed(name)).toBe(false);
  });

  it('bad input is refused with INVALID_ARGUMENT and deletes nothing', async () => {
    const clientId = crypto.randomUUID();
    const name = `bad-${clientId}`;
    const a = await tab(name, clientId, false);
    await rejectsWith(deleteReplicaData(''), 'INVALID_ARGUMENT');
    await rejectsWith(deleteReplicaData(name, { discard: true } as never), 'INVALID_ARGUMENT');
    await rejectsWith(deleteReplicaData(name, { discardPending: 'yes' } as never), 'INVALID_ARGUMENT');
    await rejectsWith(a.deleteLocalData({ onBlocked: 1 } as never), 'INVALID_ARGUMENT');
    await a.create('notes', 'n', { title: 'x' });
    expect(await a.get('notes', 'n')).toEqual({ title: 'x' });
    expect(await listed(name)).toBe(true);
  });
});
