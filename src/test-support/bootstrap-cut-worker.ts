/**
 * A worker that starts a bootstrap (a `clearObjects` commit of many objects, with the replica state
 * that names it) on the IndexedDB replica store and says so, for a page to terminate it half way:
 * a closed tab cutting a bootstrap off (worker/idb/bootstrap-cut.browser.test.ts).
 */
import { INITIAL_REPLICA_STATE } from '../contracts/replica-store.js';
import { IdbConnection } from '../../worker/idb/connection.js';
import { IdbReplicaStore } from '../../worker/idb/idb-replica-store.js';
import { bootstrapSet } from './bootstrap-cut.js';

/** What the page asks: the database, and the height and size of the set to bootstrap. */
export interface BootstrapCutRequest {
  readonly name: string;
  readonly height: number;
  readonly count: number;
}

self.onmessage = async (event: MessageEvent<BootstrapCutRequest>) => {
  const { name, height, count } = event.data;
  const store = new IdbReplicaStore(new IdbConnection(name));
  await store.readState(); // the database is open: the commit's transaction starts at once
  const putObjects = bootstrapSet(height, count);
  const done = store.commit({
    clearObjects: true,
    putObjects,
    clearShadows: true,
    state: { ...INITIAL_REPLICA_STATE, baseHeight: height },
  });
  self.postMessage('started');
  await done;
  self.postMessage('committed');
};
