import type { StorageTxn } from '../contracts/storage.js';

/**
 * `inner` with some of its methods replaced, for wrappers that watch or alter a few calls of a
 * transaction (progress reports, injected faults) and pass the rest through. A replacement may
 * call `inner`'s own method; a method the contract gains is forwarded here once, not in every
 * wrapper.
 */
export function forwardingTxn(inner: StorageTxn, overrides: Partial<StorageTxn> = {}): StorageTxn {
  return {
    getClient: () => inner.getClient(),
    newClient: (latestVersionId) => inner.newClient(latestVersionId),
    setSnapshot: (snapshot, data) => inner.setSnapshot(snapshot, data),
    getSnapshotData: (versionId, onPart) => inner.getSnapshotData(versionId, onPart),
    getVersionByParent: (parentVersionId) => inner.getVersionByParent(parentVersionId),
    getVersion: (versionId) => inner.getVersion(versionId),
    getVersionsAfter: (parentVersionId, limit) => inner.getVersionsAfter(parentVersionId, limit),
    addVersion: (versionId, parentVersionId, segment) =>
      inner.addVersion(versionId, parentVersionId, segment),
    commit: () => inner.commit(),
    // Optional: forwarded only when the inner transaction has it (callers test for it).
    ...(inner.countVersionsAfter && { countVersionsAfter: inner.countVersionsAfter.bind(inner) }),
    ...overrides,
  };
}
