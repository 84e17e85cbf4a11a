import type { CaSResult, Consensus, SeqNo, VersionedData } from '../contracts/consensus.js';
import { validateCompareAndSet } from '../core/consensus-rules.js';
import type { WorkerLink } from './worker-link.js';

/** The store's Consensus, seen from the main thread: one worker call per operation. */
export class ClientConsensus implements Consensus {
  readonly #link: WorkerLink;

  constructor(link: WorkerLink) {
    this.#link = link;
  }

  listKeys(): Promise<string[]> {
    return this.#link.request('consensus', 'listKeys');
  }

  head(key: string): Promise<VersionedData | null> {
    return this.#link.request('consensus', 'head', key);
  }

  async compareAndSet(key: string, expected: SeqNo | null, next: VersionedData): Promise<CaSResult> {
    // Checked before crossing: structured clone would lose what is wrong with a fake or detached array.
    validateCompareAndSet(key, expected, next);
    return this.#link.request('consensus', 'compareAndSet', key, expected, next);
  }

  scan(key: string, from: SeqNo, limit?: number): Promise<VersionedData[]> {
    return this.#link.request('consensus', 'scan', key, from, limit);
  }

  truncate(key: string, seqno: SeqNo): Promise<number> {
    return this.#link.request('consensus', 'truncate', key, seqno);
  }
}
