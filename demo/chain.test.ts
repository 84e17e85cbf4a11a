import { describe, expect, it } from 'vitest';
import { INITIAL_REPLICA_STATE } from '../src/contracts/replica-store.js';
import type { ReplicaInspection } from '../src/contracts/replica.js';
import { knownChain, mergeChains } from './chain.js';

const inspection = (baseHeight: number, recentVersionIds?: string[]) =>
  ({
    state: { ...INITIAL_REPLICA_STATE, baseHeight, recentVersionIds },
    pending: [],
  }) as unknown as ReplicaInspection;

describe('the chain the demo draws', () => {
  it('places the engine’s recent version ids at their heights, the older ones unnamed', () => {
    expect(knownChain(inspection(4, ['c', 'd']))).toEqual([null, null, 'c', 'd']);
    expect(knownChain(inspection(2))).toEqual([null, null]);
    expect(knownChain(inspection(0, []))).toEqual([]);
  });

  it('adds what each replica saw: one that lags draws the versions another pushed above its row', () => {
    const ahead = knownChain(inspection(3, ['a', 'b', 'c']));
    const behind = knownChain(inspection(1, ['a']));
    expect(mergeChains(ahead, behind)).toEqual(['a', 'b', 'c']);
    expect(mergeChains(behind, ahead)).toEqual(['a', 'b', 'c']);
    // Heights one view does not name are filled from the other.
    expect(mergeChains(['a', null, 'c'], [null, 'b'])).toEqual(['a', 'b', 'c']);
  });

  it('drops a chain seen earlier that disagrees (an earlier run’s server under the same data set id)', () => {
    expect(mergeChains(['old1', 'old2', 'old3'], ['new1'])).toEqual(['new1']);
    expect(mergeChains(['a', 'old2', 'old3'], ['a', 'new2'])).toEqual(['a', 'new2']);
  });
});
