/**
 * A sync with nothing new looks no further than the client record: when the base is already the
 * latest version, it asks for no versions after it (on a remote, each such lookup of a version
 * that does not exist yet is a request answered 404, which a browser's console shows as failed).
 */
import { describe, expect, it } from 'vitest';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { controlledChains } from '../test-support/controlled-storage.js';
import { Replica } from './replica.js';

describe('an idle sync', () => {
  it('reads no versions when the base is the latest', async () => {
    const storage = controlledChains.open();
    const clientId = crypto.randomUUID();
    const open = () => Replica.open({ store: new MemoryReplicaStore(), storage, clientId });
    const a = await open();
    const b = await open();
    await a.create('tasks', 't');
    await a.sync({ avoidSnapshots: true });
    await b.sync({ avoidSnapshots: true });
    storage.resetCounts();
    for (const replica of [a, b]) {
      const result = await replica.sync({ avoidSnapshots: true });
      expect([result.pulledVersions, result.pushedVersions]).toEqual([0, 0]);
    }
    expect(storage.calls.getVersionsAfter).toBe(0);
    // ...and still pulls what is new.
    await a.update('tasks', 't', { title: 'new' });
    await a.sync({ avoidSnapshots: true });
    expect((await b.sync({ avoidSnapshots: true })).pulledVersions).toBe(1);
    expect(await b.get('tasks', 't')).toEqual({ title: 'new' });
  });
});
