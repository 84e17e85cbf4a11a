import type { ReplicaStoreHarness } from '../../src/testing/conformance/replica-store.js';
import { IdbConnection } from '../idb/connection.js';
import { IdbReplicaStore } from './idb-replica-store.js';

/** A fresh database per case; `reopen` closes the connection and opens the same database again. */
export function freshIdbReplicaStore(prefix: string): ReplicaStoreHarness {
  const name = `chainsync:${prefix}-${crypto.randomUUID()}`;
  let connection = new IdbConnection(name);
  return {
    store: new IdbReplicaStore(connection),
    reopen: async () => {
      connection.close();
      connection = new IdbConnection(name);
      return new IdbReplicaStore(connection);
    },
  };
}
