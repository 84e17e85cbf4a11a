import type { CaSResult, Consensus, SeqNo, VersionedData } from '../contracts/consensus.js';
import { SCAN_ALL } from '../contracts/consensus.js';
import { NotFoundError } from '../contracts/errors.js';
import { assertTruncateBound, validateCompareAndSet } from '../core/consensus-rules.js';
import { copyBytes } from '../core/bytes.js';
import { assertCount, assertKey, assertSeqNo } from '../core/validate.js';

/** The reference {@link Consensus}: one ascending array of versions per key. */
export class MemoryConsensus implements Consensus {
  readonly #logs = new Map<string, VersionedData[]>();

  async listKeys(): Promise<string[]> {
    return [...this.#logs.keys()].sort();
  }

  async head(key: string): Promise<VersionedData | null> {
    assertKey(key);
    const log = this.#logs.get(key);
    const last = log?.[log.length - 1];
    return last ? copyVersion(last) : null;
  }

  async compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult> {
    validateCompareAndSet(key, expected, next);
    const log = this.#logs.get(key);
    const head = log?.[log.length - 1]?.seqno ?? null;
    if (head !== expected) return 'ExpectationMismatch';
    const stored = copyVersion(next);
    if (log) log.push(stored);
    else this.#logs.set(key, [stored]);
    return 'Committed';
  }

  async scan(key: string, from: SeqNo, limit: number = SCAN_ALL): Promise<VersionedData[]> {
    assertKey(key);
    assertSeqNo(from, 'from');
    assertCount(limit, 'limit');
    const log = this.#logs.get(key) ?? [];
    return log
      .filter((v) => v.seqno >= from)
      .slice(0, limit)
      .map(copyVersion);
  }

  async truncate(key: string, seqno: SeqNo): Promise<number> {
    assertKey(key);
    assertSeqNo(seqno);
    const log = this.#logs.get(key);
    const head = log?.[log.length - 1];
    if (!log || !head)
      throw new NotFoundError(`Consensus key ${JSON.stringify(key)} has no data to truncate.`);
    assertTruncateBound(seqno, head.seqno);
    const kept = log.filter((v) => v.seqno >= seqno);
    const deleted = log.length - kept.length;
    this.#logs.set(key, kept);
    return deleted;
  }
}

function copyVersion(v: VersionedData): VersionedData {
  return { seqno: v.seqno, data: copyBytes(v.data) };
}
