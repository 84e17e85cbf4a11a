import { describe, expect, it } from 'vitest';
import { ChainIntegrityError } from '../contracts/errors.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { Replica } from './replica.js';
import { assertSnapshotPolicy, decodeSnapshot, encodeSnapshot, snapshotUrgency } from './snapshots.js';

const DAY = 86_400_000;
const snap = (versionsSince: number, ageDays: number, now: number) => ({
  versionId: crypto.randomUUID(),
  timestamp: now - ageDays * DAY,
  versionsSince,
});

describe('snapshot urgency (TaskChampion: 100 versions, 14 days; half of either is low)', () => {
  const now = 1_700_000_000_000;
  it.each([
    ['no snapshot', null, 'high'],
    ['fresh', snap(0, 0, now), 'none'],
    ['49 versions', snap(49, 0, now), 'none'],
    ['50 versions', snap(50, 0, now), 'low'],
    ['100 versions', snap(100, 0, now), 'high'],
    ['6 days', snap(0, 6, now), 'none'],
    ['7 days', snap(0, 7, now), 'low'],
    ['14 days', snap(0, 14, now), 'high'],
    ['low versions, high age', snap(60, 20, now), 'high'],
  ] as const)('%s → %s', (_name, s, expected) => {
    expect(snapshotUrgency(s, now)).toBe(expected);
  });
  it('honours a custom policy', () => {
    expect(snapshotUrgency(snap(2, 0, now), now, { versions: 4, days: 14 })).toBe('low');
    expect(snapshotUrgency(snap(4, 0, now), now, { versions: 4, days: 14 })).toBe('high');
  });
  it('a malformed policy is INVALID_ARGUMENT, at Replica.open too', async () => {
    const bad = [
      null,
      7,
      {},
      { versions: 0, days: 14 },
      { versions: 10, days: 0.5 },
      { versions: '10', days: 1 },
    ];
    for (const policy of bad) {
      expect(() => assertSnapshotPolicy(policy, 'policy')).toThrow(/expected \{ versions, days \}/);
      await rejectsWith(
        Replica.open({
          store: new MemoryReplicaStore(),
          clientId: crypto.randomUUID(),
          snapshotPolicy: policy as never,
        }),
        'INVALID_ARGUMENT',
      );
    }
    expect(() => assertSnapshotPolicy({ versions: 1, days: 1 }, 'policy')).not.toThrow();
  });
});

describe('snapshot encoding', () => {
  it('round-trips a large data set, gzipped', async () => {
    const client = crypto.randomUUID();
    const versionId = crypto.randomUUID();
    const objects = Array.from({ length: 2000 }, (_, i) => ({
      collection: 'c',
      id: `o${i}`,
      properties: { title: 'the same words again and again', n: i },
    }));
    const landed = { from: 0, seqs: { [crypto.randomUUID()]: 7 } };
    const bytes = await encodeSnapshot({ key: null }, client, { versionId, height: 42, objects, landed });
    const json = JSON.stringify(objects).length;
    expect(bytes[0]).toBe(0x01); // plain format
    expect(bytes[1]).toBe(1); // gzip
    expect(bytes.length * 5).toBeLessThan(json); // compressed well: the words repeat
    const decoded = await decodeSnapshot({ key: null }, client, versionId, bytes);
    expect(decoded).toEqual({ versionId, height: 42, objects, landed });
    await expect(decodeSnapshot({ key: null }, client, crypto.randomUUID(), bytes)).rejects.toBeInstanceOf(
      ChainIntegrityError,
    );
  });
});
