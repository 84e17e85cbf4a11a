/**
 * `chainsync/sw`'s background sync, run here in the page (the same engine a service worker runs;
 * e2e/pwa.e2e.ts fires it in a real service worker): a replica opened with `backgroundSync: true`
 * leaves what a sync needs in its database, never the secret, and `syncInBackground` pushes its
 * pending edits with no replica page open.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { rejectsWith } from '../testing/conformance/support.js';
import { openDB } from 'idb';
import { syncInBackground } from '../../worker/sw.js';
import { storeDatabaseName } from '../../worker/idb/index.js';
import { BACKGROUND_SYNC_KEY, type BackgroundSyncRecord } from '../../worker/idb/schema.js';
import { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

/** A replica that syncs only when told to (no interval, no watch, no sync at start). */
async function replica(options: Partial<OpenReplicaOptions> & Pick<OpenReplicaOptions, 'clientId'>) {
  const r = await openReplica({
    name: `bg-${crypto.randomUUID()}`,
    remote: { kind: 'http', url: serverUrl, prefix: `bg-${options.clientId}` },
    schedule: { intervalMs: 0, debounceMs: 60_000, live: false, syncOnStart: false },
    testOnlyPbkdf2Iterations: 1_000,
    ...options,
  });
  opened.push(r);
  return r;
}

async function close(r: ReplicaClient): Promise<void> {
  opened.splice(opened.indexOf(r), 1);
  await r.close();
}

describe('background sync (chainsync/sw)', () => {
  it('pushes the pending edits of a closed replica, encrypted with the key a sync derived, once', async () => {
    const clientId = crypto.randomUUID();
    const secret = 'correct horse battery staple';
    const a = await replica({ clientId, secret, backgroundSync: true });
    await a.create('notes', 'first', { text: 'synced by the page' });
    await a.sync(); // derives the key, which the background sync will need
    await a.create('notes', 'second', { text: 'left pending' });
    expect((await a.status()).pending).toBeGreaterThan(0);
    await close(a);
    // What the service worker will use: the options and a key whose bytes cannot be read, no secret.
    const db = await openDB(storeDatabaseName(a.name));
    const record = (await db.get('backgroundSync', BACKGROUND_SYNC_KEY)) as BackgroundSyncRecord;
    db.close();
    expect(record.options).toMatchObject({ clientId });
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(record.key?.extractable).toBe(false);

    expect(await syncInBackground(a.name)).toBe('synced');

    // Another device, with the secret, reads both; the first, reopened, has nothing left to push.
    const b = await replica({ clientId, secret });
    await b.sync();
    expect(await b.get('notes', 'second')).toEqual({ text: 'left pending' });
    const again = await replica({ clientId, secret, backgroundSync: true, name: a.name });
    expect((await again.status()).pending).toBe(0);
    const before = (await again.inspect()).state.baseHeight;
    await again.sync();
    expect((await again.inspect()).state.baseHeight).toBe(before);
  });

  it('does nothing for a replica that did not opt in, or opted out since, or was deleted', async () => {
    const clientId = crypto.randomUUID();
    const plain = await replica({ clientId });
    await plain.create('notes', 'n', { text: 'x' });
    await close(plain);
    expect(await syncInBackground(plain.name)).toBe('off');

    const optedOut = await replica({ clientId, backgroundSync: true });
    await close(optedOut);
    const reopened = await replica({ clientId, name: optedOut.name });
    await reopened.create('notes', 'm', { text: 'y' });
    await close(reopened);
    expect(await syncInBackground(optedOut.name)).toBe('off');

    expect(await syncInBackground(`never-opened-${crypto.randomUUID()}`)).toBe('not-found');
  });

  it('waits for a sync with the secret before it can push an encrypted data set', async () => {
    const clientId = crypto.randomUUID();
    const a = await replica({ clientId, secret: 's3cret', backgroundSync: true });
    await a.create('notes', 'n', { text: 'pending' });
    await close(a);
    expect(await syncInBackground(a.name)).toBe('no-key');
  });

  it('is refused with a credentials function, which a service worker could not call', async () => {
    const clientId = crypto.randomUUID();
    const error = await rejectsWith(
      replica({
        clientId,
        backgroundSync: true,
        remote: { kind: 'http', url: serverUrl, prefix: `bg-${clientId}`, token: () => 'secret-token' },
      }),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('options.backgroundSync');
  });
});
