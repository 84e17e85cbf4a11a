/**
 * The storage use in a worker-hosted replica's status (issue 16 item 4): read in the engine's
 * worker when the replica opens, so the first status has it; `null` in an engine whose workers
 * have no `navigator.storage.estimate()` (the documented fallback, asserted where it applies).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openReplica, type ReplicaClient } from './open-replica.js';

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

/** What a worker of this engine has of the Storage API (the engine reads it from its worker). */
async function workerStorageApi(): Promise<{ estimate: boolean; persisted: boolean }> {
  const source = `postMessage({ estimate: typeof navigator.storage?.estimate === 'function',
    persisted: typeof navigator.storage?.persisted === 'function' });`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ estimate: boolean; persisted: boolean }>) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
    });
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
}

describe('a replica status reports storage use', () => {
  it("from the engine worker's Storage API, read at open, or null where the worker has none", async () => {
    const api = await workerStorageApi();
    const clientId = crypto.randomUUID();
    const replica = await openReplica({ name: `storage-status-${clientId}`, clientId });
    opened.push(replica);
    const { storage } = await replica.status();
    if (!api.estimate) {
      expect(storage).toBeNull();
      return;
    }
    expect(storage).not.toBeNull();
    expect(storage!.quota).toBeGreaterThan(0);
    expect(storage!.usage).toBeGreaterThanOrEqual(0);
    expect(storage!.persisted).toBe(api.persisted ? await navigator.storage.persisted() : null);
  });
});
