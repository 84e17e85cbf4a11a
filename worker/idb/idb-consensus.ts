import type { CaSResult, Consensus, SeqNo, VersionedData } from '../../src/contracts/consensus.js';
import { SCAN_ALL } from '../../src/contracts/consensus.js';
import { NotFoundError } from '../../src/contracts/errors.js';
import { assertTruncateBound, validateCompareAndSet } from '../../src/core/consensus-rules.js';
import { copyBytes } from '../../src/core/bytes.js';
import { assertCount, assertKey, assertSeqNo } from '../../src/core/validate.js';
import { quiet, type IdbConnection } from './connection.js';
import { GroupCommit } from './group-commit.js';
import { seqFromKey, seqKey } from './schema.js';

/** Upper bound of every seqKey (19 digits), for ranges over one key's whole log. */
const AFTER_ALL = ':';

/**
 * {@link Consensus} on IndexedDB: a head pointer per key plus the log keyed by [key, seqno]. The
 * compare-and-set reads the head and appends inside a readwrite transaction, which IndexedDB
 * serializes against every other writer of the same stores, across tabs too. Writes are
 * group-committed ({@link GroupCommit}): concurrent ones share a transaction, each reading the
 * heads the earlier ones left, in arrival order.
 */
export class IdbConsensus implements Consensus {
  readonly #db: IdbConnection;
  readonly #group: GroupCommit<['consensusHeads', 'consensusLog']>;

  constructor(db: IdbConnection) {
    this.#db = db;
    this.#group = new GroupCommit(db, ['consensusHeads', 'consensusLog']);
  }

  async listKeys(): Promise<string[]> {
    const keys = await this.#db.read(['consensusHeads'], (tx) =>
      tx.objectStore('consensusHeads').getAllKeys(),
    );
    return keys.sort();
  }

  async head(key: string): Promise<VersionedData | null> {
    assertKey(key);
    return this.#db.read(['consensusHeads', 'consensusLog'], async (tx) => {
      const head = await tx.objectStore('consensusHeads').get(key);
      if (head === undefined) return null;
      const data = await tx.objectStore('consensusLog').get([key, head]);
      return data ? { seqno: seqFromKey(head), data } : null;
    });
  }

  async compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult> {
    validateCompareAndSet(key, expected, next);
    const data = copyBytes(next.data);
    return this.#group.write({
      run: async (tx): Promise<CaSResult> => {
        const heads = tx.objectStore('consensusHeads');
        const head = await heads.get(key);
        const current = head === undefined ? null : seqFromKey(head);
        if (current !== expected) return 'ExpectationMismatch';
        const nextKey = seqKey(next.seqno);
        quiet(heads.put(nextKey, key));
        quiet(tx.objectStore('consensusLog').put(data, [key, nextKey]));
        return 'Committed';
      },
    });
  }

  async scan(key: string, from: SeqNo, limit: number = SCAN_ALL): Promise<VersionedData[]> {
    assertKey(key);
    assertSeqNo(from, 'from');
    assertCount(limit, 'limit');
    if (limit === 0) return [];
    return this.#db.read(['consensusLog'], async (tx) => {
      const range = IDBKeyRange.bound([key, seqKey(from)], [key, AFTER_ALL]);
      const store = tx.objectStore('consensusLog');
      const count = Math.min(limit, 2 ** 32 - 1);
      const [keys, values] = await Promise.all([store.getAllKeys(range, count), store.getAll(range, count)]);
      return values.map((data, i) => ({ seqno: seqFromKey((keys[i] as [string, string])[1]), data }));
    });
  }

  async truncate(key: string, seqno: SeqNo): Promise<number> {
    assertKey(key);
    assertSeqNo(seqno);
    return this.#group.write({
      // Refusals (no data, a bound above the head) are thrown before anything is written.
      run: async (tx) => {
        const head = await tx.objectStore('consensusHeads').get(key);
        if (head === undefined) {
          throw new NotFoundError(`Consensus key ${JSON.stringify(key)} has no data to truncate.`);
        }
        assertTruncateBound(seqno, seqFromKey(head));
        const log = tx.objectStore('consensusLog');
        const below = IDBKeyRange.bound([key, ''], [key, seqKey(seqno)], false, true);
        const deleted = await log.count(below);
        if (deleted > 0) quiet(log.delete(below));
        return deleted;
      },
    });
  }
}
