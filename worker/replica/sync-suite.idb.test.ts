/**
 * The sync engine's own suites (src/sync/sync.test.ts, replica.test.ts) run again with every
 * replica on IndexedDB: the module providing their MemoryReplicaStore is replaced by one whose
 * store is an IdbReplicaStore on a fresh database. In Node that is fake-indexeddb; in Chromium,
 * the real IndexedDB.
 */
import { vi } from 'vitest';

vi.mock('../../src/memory/memory-replica-store.js', async () => {
  const { IdbConnection } = await import('../idb/connection.js');
  const { IdbReplicaStore } = await import('../idb/idb-replica-store.js');
  return {
    MemoryReplicaStore: class extends IdbReplicaStore {
      constructor() {
        super(new IdbConnection(`chainsync:sync-suite-${crypto.randomUUID()}`));
      }
    },
  };
});

// Node has no IndexedDB: install fake-indexeddb there; the browser keeps its own.
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
await import('../../src/sync/replica.test.js');
await import('../../src/sync/sync.test.js');
