import { describe, expect, it } from 'vitest';
import { ContentNotFoundError } from '../../src/contracts/errors.js';
import { MemoryRemoteBackend } from '../../src/memory/memory-remote-backend.js';
import { MemoryStorage } from '../../src/memory/memory-storage.js';
import { RemoteBlobs } from '../../src/remote/remote-blobs.js';
import { MemoryReplicaStore } from '../../src/memory/memory-replica-store.js';
import { Replica } from '../../src/sync/replica.js';
import { openIdbStore } from './index.js';

// Replica blobs over Chromium's real IndexedDB blob storage: leases are rows under the tab's pid.
describe('Replica blobs on IndexedDB', () => {
  it('stores, uploads, downloads lazily into IndexedDB, and collects an unreferenced blob', async () => {
    const storage = new MemoryStorage();
    const remoteBlobs = new RemoteBlobs(new MemoryRemoteBackend(), { prefix: 'blobs' });
    const clientId = crypto.randomUUID();
    const idbA = openIdbStore(`blobs-a-${crypto.randomUUID()}`);
    const idbB = openIdbStore(`blobs-b-${crypto.randomUUID()}`);
    try {
      const open = (blobs: typeof idbA.blobs) =>
        Replica.open({ store: new MemoryReplicaStore(), storage, clientId, blobs, remoteBlobs });
      const a = await open(idbA.blobs);
      const data = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);
      const ref = await a.putBlob(data, 'application/octet-stream');
      await a.create('files', 'f', { content: ref as never });
      await a.sync();

      const b = await open(idbB.blobs);
      await b.sync();
      const lease = { id: 'probe', pid: 'probe' };
      await expect(idbB.blobs.getData(ref.$blob, lease)).rejects.toBeInstanceOf(ContentNotFoundError);
      expect(await b.getBlob(ref.$blob)).toEqual(data);
      expect(await idbB.blobs.getData(ref.$blob, lease)).toEqual(data);
      expect((await b.collectBlobGarbage()).deleted).toEqual([]);

      await a.delete('files', 'f');
      await a.sync();
      await b.sync();
      expect((await b.collectBlobGarbage()).deleted).toEqual([ref.$blob]);
      expect((await a.collectBlobGarbage()).deleted).toEqual([ref.$blob]);
      await expect(idbB.blobs.getData(ref.$blob, lease)).rejects.toBeInstanceOf(ContentNotFoundError);
    } finally {
      idbA.close();
      idbB.close();
    }
  });
});
