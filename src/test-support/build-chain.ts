/**
 * Builds a chain directly through the Storage contract, for tests of a Storage's layout: a commit
 * creating the client, then one commit per version (version `i` carries the segment `v<i>`).
 */
import { NIL_UUID, type Storage, type Uuid } from '../contracts/storage.js';
import { utf8 } from '../core/bytes.js';

/**
 * Commits `count` versions to `client`'s new chain, one per commit (commit 1 creates the client,
 * version `i` is commit `i + 2` when `afterVersion` commits nothing). `afterVersion` runs after
 * each version's commit, e.g. to set a snapshot of it. Returns the version ids in order.
 */
export async function buildChain(
  storage: Storage,
  client: Uuid,
  count: number,
  afterVersion?: (index: number, versionId: Uuid) => Promise<void>,
): Promise<Uuid[]> {
  let txn = await storage.txn(client);
  await txn.newClient(NIL_UUID);
  await txn.commit();
  const ids: Uuid[] = [];
  let parent = NIL_UUID;
  for (let i = 0; i < count; i++) {
    txn = await storage.txn(client);
    const id = crypto.randomUUID();
    await txn.addVersion(id, parent, utf8(`v${i}`));
    await txn.commit();
    ids.push(id);
    parent = id;
    await afterVersion?.(i, id);
  }
  return ids;
}
