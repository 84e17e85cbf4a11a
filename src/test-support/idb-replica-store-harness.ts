import type { ReplicaStoreHarness } from '../testing/conformance/index.js';
import { IdbConnection } from '../../worker/idb/connection.js';
import { IdbReplicaStore } from '../../worker/idb/idb-replica-store.js';

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
