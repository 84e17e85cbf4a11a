/**
 * A {@link Storage} whose versions may carry at most `limit` bytes of history segment, like a
 * server with a body limit: a bigger version is refused with a determinate 413 at commit (nothing
 * written). It can state its limit through `Storage.limits()` (`stated: true`), or keep it to itself
 * as a server that does not advertise one does. Every segment that landed is recorded.
 */
import { DeterminateRemoteError } from '../contracts/errors.js';
import type { Storage, StorageLimits, StorageTxn, Uuid } from '../contracts/storage.js';
import { forwardingTxn } from '../core/forwarding-txn.js';

export class LimitedStorage implements Storage {
  /** Sizes of the segments that landed, in the order they were committed. */
  readonly landed: number[] = [];
  /** How many versions were refused as too large. */
  refused = 0;

  constructor(
    readonly inner: Storage,
    readonly limit: number,
    readonly options: { readonly stated: boolean } = { stated: true },
  ) {}

  async txn(clientId: Uuid): Promise<StorageTxn> {
    const inner = await this.inner.txn(clientId);
    let added: number | null = null;
    return forwardingTxn(inner, {
      addVersion: async (id, parent, segment) => {
        added = segment.length;
        await inner.addVersion(id, parent, segment);
      },
      commit: async () => {
        if (added !== null && added > this.limit) {
          this.refused++;
          throw new DeterminateRemoteError(
            `PUT version: the server answered 413 (body of ${added} bytes over ${this.limit}); nothing was changed.`,
            { status: 413 },
          );
        }
        await inner.commit();
        if (added !== null) this.landed.push(added);
      },
    });
  }

  limits(): Promise<StorageLimits> {
    return Promise.resolve({ maxSegmentBytes: this.options.stated ? this.limit : null });
  }
}
