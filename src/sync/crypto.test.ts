/**
 * End-to-end encryption: a published test vector, wrong secrets, a scan of every byte the server
 * holds for plaintext, and a server that tampers with, reorders or rolls back the chain (in memory,
 * and on a live remote in the reruns: see remote-suite-support.ts).
 */
import { describe, expect, it } from 'vitest';
import { ChainIntegrityError, WrongSecretError } from '../contracts/errors.js';
import type { Storage, Uuid } from '../contracts/storage.js';
import { forwardingTxn } from '../core/forwarding-txn.js';
import { fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { MemoryCasKv } from '../memory/memory-cas-kv.js';
import { encryptionKeyName, PBKDF2_ITERATIONS } from './crypto.js';
import { deriveKey, seal, unseal } from './sealing.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica, type ReplicaOptions } from './replica.js';
import { encodeSegment } from './segments.js';
import { controlledChains } from '../test-support/controlled-storage.js';
import { VECTOR } from '../test-support/crypto-test-vector.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { INITIAL_REPLICA_STATE } from '../contracts/replica-store.js';

const hex = (h: string) => new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));

describe('encryption primitives', () => {
  it('matches the published AES-256-GCM / PBKDF2-SHA256 (600,000 iterations) vector', async () => {
    expect(PBKDF2_ITERATIONS).toBe(VECTOR.iterations);
    const key = await deriveKey(VECTOR.secret, hex(VECTOR.salt));
    const sealed = await seal(key, utf8(VECTOR.plaintext), utf8(VECTOR.aad), hex(VECTOR.iv));
    expect(toHex(sealed)).toBe(VECTOR.sealed);
    expect(fromUtf8((await unseal(key, sealed, utf8(VECTOR.aad)))!)).toBe(VECTOR.plaintext);
    // the associated data is bound: another version id or parent does not open
    expect(await unseal(key, sealed, utf8(VECTOR.aad.replace('0002', '0004')))).toBeNull();
    const flipped = sealed.slice();
    flipped[20]! ^= 1;
    expect(await unseal(key, flipped, utf8(VECTOR.aad))).toBeNull();
  });

  it('uses a fresh random IV per seal', async () => {
    const key = await deriveKey('s', new Uint8Array(16), 1);
    const a = await seal(key, utf8('same'), utf8('aad'));
    const b = await seal(key, utf8('same'), utf8('aad'));
    expect(toHex(a.subarray(1, 13))).not.toBe(toHex(b.subarray(1, 13)));
  });
});

const SECRETS = ['Plaintext-Marker-Title', 'secret-collection', 'secret-object-id', 'secretPropertyName'];

async function open(storage: Storage, kv: MemoryCasKv, clientId: Uuid, extra: Partial<ReplicaOptions> = {}) {
  const store = new MemoryReplicaStore();
  const replica = await Replica.open({ store, storage, kv, clientId, secret: 'hunter2', ...extra });
  return { store, replica };
}

describe('encrypted replicas (default 600,000 iterations)', () => {
  it('the server never sees plaintext, and a wrong or missing secret is a clear error', async () => {
    const storage = controlledChains.open();
    const kv = new MemoryCasKv();
    const client = crypto.randomUUID();
    const { replica: a } = await open(storage, kv, client);
    const { replica: b } = await open(storage, kv, client);
    const [title, collection, id, property] = SECRETS as [string, string, string, string];
    await a.create(collection, id, { [property]: title, n: 42 });
    // a big one, so segments and snapshots are compressed too
    await a.change(
      Array.from({ length: 200 }, (_, i) => ({
        type: 'create' as const,
        collection,
        id: `${id}-${i}`,
        properties: { [property]: `${title} ${i}` },
      })),
    );
    expect((await a.sync()).snapshotUploaded).toBe(true);
    await a.update(collection, id, { [property]: `${title} v2` });
    await a.sync();
    await b.sync();
    expect(await b.get(collection, id)).toEqual({ [property]: `${title} v2`, n: 42 });

    const stored = [...(await storage.storedBytes()), ...(await kv.scan('')).map((item) => item.value)];
    expect(stored.length).toBeGreaterThan(3);
    const haystacks = stored.map((bytes) => latin1(bytes));
    for (const needle of [...SECRETS, 'hunter2']) {
      for (const h of haystacks) expect(h.includes(latin1(utf8(needle)))).toBe(false);
    }

    const { replica: wrong, store } = await open(storage, kv, client, { secret: 'hunter3' });
    await wrong.create('local', 'kept', { x: 1 });
    await expect(wrong.sync()).rejects.toBeInstanceOf(WrongSecretError);
    expect(await store.countPending()).toBe(2);
    expect((await store.readState()).baseHeight).toBe(0);

    const none = await Replica.open({ store: new MemoryReplicaStore(), storage, kv, clientId: client });
    await expect(none.sync()).rejects.toBeInstanceOf(WrongSecretError);
  });
});

describe('a hostile server (fewer PBKDF2 iterations, test only)', () => {
  const fast = { testOnlyPbkdf2Iterations: 1_000 };

  async function setup() {
    const storage = controlledChains.open();
    const kv = new MemoryCasKv();
    const client = crypto.randomUUID();
    const a = await open(storage, kv, client, fast);
    const b = await open(storage, kv, client, fast);
    await b.replica.create('t', 'b', { v: 'b' });
    await b.replica.sync({ avoidSnapshots: true });
    await a.replica.sync();
    for (let i = 0; i < 3; i++) {
      await b.replica.update('t', 'b', { v: i });
      await b.replica.sync();
    }
    await a.replica.create('t', 'a-pending', { mine: true });
    const before = {
      objects: await a.store.listObjects(),
      state: await a.store.readState(),
      pending: await a.store.getPending(),
    };
    const unchanged = async () => {
      expect(await a.store.listObjects()).toEqual(before.objects);
      expect(await a.store.readState()).toEqual(before.state);
      expect(await a.store.getPending()).toEqual(before.pending);
    };
    return { storage, kv, client, a, b, unchanged };
  }

  it('detects a tampered segment', async () => {
    const { storage, a, unchanged } = await setup();
    const target = (await storage.chain())[2]!;
    await storage.replaceVersion(target.versionId, (v) => {
      const seg = v.historySegment.slice();
      seg[seg.length - 1]! ^= 0x40;
      return { ...v, historySegment: seg };
    });
    const error = await a.replica.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainIntegrityError);
    expect((error as Error).message).toMatch(/Nothing local was changed\.$/); // and it is true:
    await unchanged();
  });

  it('a fresh replica that bootstraps, then meets a tampered version, is told what it applied', async () => {
    const { storage, kv, client } = await setup();
    const chain = await storage.chain();
    const snapshotAt = (await storage.client())?.snapshot?.versionId;
    expect(snapshotAt).toBe(chain[0]!.versionId);
    await storage.replaceVersion(chain[2]!.versionId, (v) => {
      const seg = v.historySegment.slice();
      seg[seg.length - 1]! ^= 0x40;
      return { ...v, historySegment: seg };
    });
    const fresh = await open(storage, kv, client, fast);
    const error = await rejectsWith(fresh.replica.sync(), 'CHAIN_INTEGRITY');
    // The snapshot was verified and committed before the bad version was met: the replica stands
    // on it, and the message says so instead of claiming nothing changed.
    expect((await fresh.store.readState()).baseVersionId).toBe(snapshotAt);
    expect(await fresh.replica.get('t', 'b')).toEqual({ v: 'b' });
    expect(error.message).not.toMatch(/Nothing local was changed/);
    expect(error.message).toContain(`snapshot of version ${snapshotAt}`);
  });

  it('a deleted encryption record is never replaced while the chain holds versions', async () => {
    const { storage, kv, client } = await setup();
    const name = encryptionKeyName(client);
    const record = (await kv.get(name))!.value;
    await kv.delete(name); // the server lost it (or someone deleted it)
    const fresh = await open(storage, kv, client, fast);
    await fresh.replica.create('local', 'kept', { x: 1 });
    const error = await rejectsWith(fresh.replica.sync(), 'CHAIN_INTEGRITY');
    expect(error.message).toMatch(/encryption record .* is missing, .* holds encrypted data/);
    // Nothing was created in its place (a new salt would make the chain unreadable for good) and
    // nothing local changed.
    expect(await kv.get(name)).toBeNull();
    expect(await fresh.store.readState()).toMatchObject({ ...INITIAL_REPLICA_STATE, nextSeq: 3 });
    expect(await fresh.store.countPending()).toBe(2);
    // Restoring the record is all it takes.
    await kv.put(name, record);
    await fresh.replica.sync();
    expect(await fresh.replica.get('t', 'b')).toEqual({ v: 2 });
    expect(await fresh.replica.get('local', 'kept')).toEqual({ x: 1 });
  });

  it('the key a sync derived opens the data set without the secret, and only that data set', async () => {
    const { storage, kv, client } = await setup();
    // A session with the secret hands out the key it derived (a background sync keeps it).
    const keys: CryptoKey[] = [];
    const withSecret = await open(storage, kv, client, { ...fast, onEncryptionKey: (k) => keys.push(k) });
    await withSecret.replica.sync();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.extractable).toBe(false);
    // Another session with only the key reads and writes the encrypted chain.
    const withKey = await open(storage, kv, client, { secret: keys[0]! });
    await withKey.replica.create('t', 'by-key', { ok: true });
    await withKey.replica.sync();
    expect(await withKey.replica.get('t', 'b')).toEqual({ v: 2 });
    await withSecret.replica.sync();
    expect(await withSecret.replica.get('t', 'by-key')).toEqual({ ok: true });
    // Another data set's key does not open it; nor does a key when the record is gone.
    const other = await setup();
    const otherKeys: CryptoKey[] = [];
    const otherSession = await open(other.storage, other.kv, other.client, {
      ...fast,
      onEncryptionKey: (k) => otherKeys.push(k),
    });
    await otherSession.replica.sync();
    const wrong = await open(storage, kv, client, { secret: otherKeys[0]! });
    await rejectsWith(wrong.replica.sync(), 'WRONG_SECRET');
    await kv.delete(encryptionKeyName(client));
    const orphan = await open(storage, kv, client, { secret: keys[0]! });
    await rejectsWith(orphan.replica.sync(), 'CHAIN_INTEGRITY');
  });

  it('a secret given for a data set that was never encrypted is NOT_ENCRYPTED, not an integrity failure', async () => {
    const storage = controlledChains.open();
    const kv = new MemoryCasKv();
    const client = crypto.randomUUID();
    const plain = await Replica.open({ store: new MemoryReplicaStore(), storage, kv, clientId: client });
    await plain.create('t', 'x', { v: 1 });
    await plain.sync();

    const opened = await open(storage, kv, client, fast);
    await opened.replica.create('local', 'kept', { x: 1 });
    const error = await rejectsWith(opened.replica.sync(), 'NOT_ENCRYPTED');
    expect(error.message).toContain('is not encrypted');
    expect(error.message).toContain('without `secret`');
    expect(error.message).not.toMatch(/injected|tampered|lost/);
    // Nothing was created and nothing local changed.
    expect(await kv.get(encryptionKeyName(client))).toBeNull();
    expect(await opened.store.readState()).toMatchObject({ ...INITIAL_REPLICA_STATE, nextSeq: 3 });
    expect(await opened.store.countPending()).toBe(2);
  });

  it('detects segments swapped between versions (a reorder)', async () => {
    const { storage, a, unchanged } = await setup();
    const [, v2, v3] = await storage.chain();
    await storage.replaceVersion(v2!.versionId, (v) => ({ ...v, historySegment: v3!.historySegment }));
    await storage.replaceVersion(v3!.versionId, (v) => ({ ...v, historySegment: v2!.historySegment }));
    await expect(a.replica.sync()).rejects.toBeInstanceOf(ChainIntegrityError);
    await unchanged();
  });

  it('detects versions served out of order', async () => {
    const { storage, kv, client, a, unchanged } = await setup();
    const reordering: Storage = {
      txn: async (id) => {
        const txn = await storage.txn(id);
        return forwardingTxn(txn, {
          getVersionsAfter: async (p, n) => (await txn.getVersionsAfter(p, n)).reverse(),
        });
      },
    };
    // the same local replica, reached through the hostile transport
    const hostile = await Replica.open({
      ...fast,
      store: a.store,
      storage: reordering,
      kv,
      clientId: client,
      secret: 'hunter2',
    });
    await expect(hostile.sync()).rejects.toBeInstanceOf(ChainIntegrityError);
    await unchanged();
  });

  it('refuses an unencrypted segment injected into an encrypted chain', async () => {
    const { storage, client, a, unchanged } = await setup();
    const target = (await storage.chain())[1]!;
    const forged = await encodeSegment(
      { key: null },
      { clientId: client, versionId: target.versionId, parentVersionId: target.parentVersionId, height: 2 },
      [{ type: 'delete', collection: 't', id: 'b' }],
    );
    await storage.replaceVersion(target.versionId, (v) => ({ ...v, historySegment: forged }));
    const error = await rejectsWith(a.replica.sync(), 'CHAIN_INTEGRITY');
    // It may be the application's configuration as well as the server: the message names both.
    expect(error.message).toContain('a replica opened without the secret wrote it');
    expect(error.message).toContain('same `secret`');
    await unchanged();
  });

  it('detects a rollback, even after the rolled-back chain grows again', async () => {
    const { storage, kv, client, a, b } = await setup();
    const rollBack = await storage.checkpoint(); // a has not pulled b's last three versions yet...
    await a.replica.sync(); // ...now it has (and pushed its own)
    const seen = await a.store.readState();
    await rollBack();
    await expect(a.replica.sync()).rejects.toBeInstanceOf(ChainIntegrityError);
    expect(await a.store.readState()).toEqual(seen);
    // another replica that never saw the newer versions extends the old chain past a's height
    const c = await open(storage, kv, client, fast);
    await c.replica.sync();
    for (let i = 0; i < 6; i++) {
      await c.replica.create('t', `c${i}`);
      await c.replica.sync({ avoidSnapshots: true });
    }
    await expect(a.replica.sync()).rejects.toBeInstanceOf(ChainIntegrityError);
    expect(await a.store.readState()).toEqual(seen);
    expect(b).toBeDefined();
  });

  it('detects a tampered snapshot when bootstrapping', async () => {
    const { storage, kv, client } = await setup();
    expect((await storage.client())?.snapshot).not.toBeNull();
    await storage.replaceSnapshotData((data) => {
      data[data.length - 2]! ^= 1;
      return data;
    });
    const fresh = await open(storage, kv, client, fast);
    await expect(fresh.replica.sync()).rejects.toBeInstanceOf(ChainIntegrityError);
    expect(await fresh.store.listObjects()).toEqual([]);
  });
});

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
