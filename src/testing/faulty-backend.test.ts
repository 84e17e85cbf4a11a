import { describe, expect, it } from 'vitest';
import { utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { atomicRemoteBackendConformance } from './conformance/index.js';
import { FaultyBackend } from './faulty-backend.js';

// With no fault rates it must be a faithful AtomicRemoteBackend.
atomicRemoteBackendConformance(
  'faulty-backend without faults',
  () => new FaultyBackend(new MemoryRemoteBackend()),
);

describe('FaultyBackend', () => {
  it('applies a write before dropping its response, and not before losing or refusing it', async () => {
    for (const [kind, applied, code] of [
      ['appliedThenDropped', true, 'REMOTE_INDETERMINATE'],
      ['droppedBeforeApply', false, 'REMOTE_INDETERMINATE'],
      ['failBeforeApply', false, 'REMOTE_FAILED'],
    ] as const) {
      const inner = new MemoryRemoteBackend();
      const backend = new FaultyBackend(inner, { [kind]: 1 });
      await expect(backend.uploadConditional('k', utf8('x'), { ifAbsent: true })).rejects.toMatchObject({
        code,
      });
      expect(await inner.exists('k')).toBe(applied);
      expect(backend.injected[kind]).toBe(1);
    }
  });

  it('never faults more often in a row than allowed, and follows its seed', async () => {
    const run = async (seed: number) => {
      const backend = new FaultyBackend(new MemoryRemoteBackend(), {
        seed,
        readFailure: 0.9,
        maxConsecutiveFaults: 2,
      });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 30; i++)
        outcomes.push(
          await backend.exists('k').then(
            () => true,
            () => false,
          ),
        );
      return outcomes;
    };
    const outcomes = await run(5);
    expect(outcomes.join()).not.toMatch(/false,false,false/);
    expect(outcomes).toContain(false);
    expect(await run(5)).toEqual(outcomes);
  });

  it('hides list when asked', () => {
    expect(new FaultyBackend(new MemoryRemoteBackend()).list).toBeTypeOf('function');
    expect(new FaultyBackend(new MemoryRemoteBackend(), { withoutList: true }).list).toBeUndefined();
  });
});
