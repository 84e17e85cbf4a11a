/**
 * Crash safety of a bootstrap (issue 13 part 2): a worker writing a bootstrap's chunks is
 * terminated (a closed tab) once its commit has started; the database then holds either the old
 * data set and state or the new ones, never a mix, and committing the bootstrap again (what the
 * next open's sync does, as its base is still the old version) brings the new set. In every engine.
 */
import { describe, expect, it } from 'vitest';
import type { StoredObject } from '../../src/contracts/replica.js';
import { INITIAL_REPLICA_STATE } from '../../src/contracts/replica-store.js';
import { bootstrapSet } from '../../src/test-support/bootstrap-cut.js';
import type { BootstrapCutRequest } from '../../src/test-support/bootstrap-cut-worker.js';
import { IdbConnection } from './connection.js';
import { IdbReplicaStore } from './idb-replica-store.js';
import { compareRefs } from './replica-chunks.js';

// Enough chunks (about 80) for a cut to land among them, few enough for WebKit under load.
const COUNT = 5_000;

/**
 * Starts the bootstrap of the set at `height` in a worker, and terminates the worker once it
 * started (after `pause` more tasks), or, with `pause` 'never', once it says it committed.
 */
async function cutBootstrap(
  request: BootstrapCutRequest,
  pause: number | 'never',
): Promise<'cut' | 'committed'> {
  const worker = new Worker(new URL('../../src/test-support/bootstrap-cut-worker.ts', import.meta.url), {
    type: 'module',
  });
  try {
    return await new Promise((resolve, reject) => {
      worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
      worker.onmessage = async (e: MessageEvent<string>) => {
        if (e.data === 'committed') return resolve('committed');
        if (pause === 'never') return;
        for (let i = 0; i < pause; i++) await new Promise((r) => setTimeout(r, 0));
        worker.terminate();
        resolve('cut');
      };
      worker.postMessage(request);
    });
  } finally {
    worker.terminate();
  }
}

const sorted = (objects: StoredObject[]) => [...objects].sort(compareRefs);

describe('a bootstrap cut off by a closed tab', () => {
  // Five bootstraps of 5,000 objects and up to four redone: 21 s in WebKit at load average 14.
  it('leaves the old set and state or the new ones, and committing it again finishes it', async () => {
    const name = `chainsync:cut-${crypto.randomUUID()}`;
    let connection = new IdbConnection(name);
    let store = new IdbReplicaStore(connection);
    // Height 1: a bootstrap, then overlay writes over it (both layers hold data).
    const first = bootstrapSet(1, 500);
    await store.commit({
      clearObjects: true,
      putObjects: first,
      state: { ...INITIAL_REPLICA_STATE, baseHeight: 1 },
    });
    const extra = { collection: 'c0', id: 'overlay', properties: { height: 1 } };
    await store.commit({ putObjects: [extra], deleteObjects: [first[0]!] });
    let current = sorted([...first.slice(1), extra]);
    connection.close();

    const outcomes: string[] = [];
    // The last round is not cut: the bootstrap commits, and the next open reads the new set (the
    // cut rounds may also end so, when the commit landed before the worker was terminated).
    const pauses: (number | 'never')[] = [0, 0, 1, 2, 'never'];
    for (const [round, pause] of pauses.entries()) {
      const height = round + 2;
      const sent = await cutBootstrap({ name, height, count: COUNT }, pause);
      connection = new IdbConnection(name);
      store = new IdbReplicaStore(connection);
      const next = sorted(bootstrapSet(height, COUNT));
      const state = await store.readState();
      const objects = await store.listObjects();
      if (sent === 'committed') expect(state.baseHeight).toBe(height);
      if (state.baseHeight === height) {
        outcomes.push(`${sent}: new`);
        expect(objects).toEqual(next);
      } else {
        outcomes.push(`${sent}: old`);
        expect(state.baseHeight).toBe(height - 1);
        expect(objects).toEqual(current);
        expect(await store.getObjects([next[7]!])).toEqual([null]);
        // The next open's sync bootstraps again: the same commit.
        await store.commit({
          clearObjects: true,
          putObjects: bootstrapSet(height, COUNT),
          clearShadows: true,
          state: { ...INITIAL_REPLICA_STATE, baseHeight: height },
        });
        expect((await store.readState()).baseHeight).toBe(height);
        expect(await store.listObjects()).toEqual(next);
      }
      expect(await store.getObjects([next[0]!, next[COUNT - 1]!, current[3]!])).toEqual([
        next[0]!.properties,
        next[COUNT - 1]!.properties,
        null,
      ]);
      current = next;
      connection.close();
    }
    // Each cut ended old (then redone) or new; the round not cut ended new.
    expect(outcomes).toHaveLength(pauses.length);
    expect(outcomes.at(-1)).toBe('committed: new');
  }, 90_000);
});
