import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { RemoteConsensus } from './remote-consensus.js';

describe('RemoteConsensus layout', () => {
  it('keeps consecutive seqnos as one run in the head and the data of earlier versions in entries', async () => {
    const backend = new MemoryRemoteBackend();
    const consensus = new RemoteConsensus(backend, { prefix: 'c' });
    let expected: bigint | null = null;
    for (let s = 0n; s < 100n; s++) {
      expect(await consensus.compareAndSet('log', expected, { seqno: s, data: utf8(`d${s}`) })).toBe(
        'Committed',
      );
      expected = s;
    }
    const head = JSON.parse(fromUtf8((await backend.download('c/h/log'))!)) as { live: unknown };
    expect(head.live).toEqual([['0', '99']]);
    expect((await backend.list('c/e/log/')).length).toBe(99); // the head's own data is inline
    expect((await consensus.scan('log', 97n)).map((v) => fromUtf8(v.data))).toEqual(['d97', 'd98', 'd99']);
  });

  it('truncate commits in the head first, then deletes the dropped entries', async () => {
    const backend = new MemoryRemoteBackend();
    const consensus = new RemoteConsensus(backend, { prefix: 'c' });
    for (const [expected, seqno] of [
      [null, 1n],
      [1n, 5n],
      [5n, 6n],
      [6n, 9n],
    ] as const) {
      await consensus.compareAndSet('k', expected, { seqno, data: utf8(String(seqno)) });
    }
    expect(await consensus.truncate('k', 6n)).toBe(2);
    expect(await backend.list('c/e/k/')).toEqual(['c/e/k/0000000000000000006']);
    const head = JSON.parse(fromUtf8((await backend.download('c/h/k'))!)) as { live: unknown };
    expect(head.live).toEqual([
      ['6', '6'],
      ['9', '9'],
    ]);
    expect(await consensus.truncate('k', 6n)).toBe(0);
    expect((await consensus.scan('k', 0n)).map((v) => v.seqno)).toEqual([6n, 9n]);
  });

  it('a scan that finds an entry missing while the head lists it reports CHAIN_INTEGRITY', async () => {
    const backend = new MemoryRemoteBackend();
    const consensus = new RemoteConsensus(backend, { prefix: 'c' });
    await consensus.compareAndSet('k', null, { seqno: 1n, data: utf8('a') });
    await consensus.compareAndSet('k', 1n, { seqno: 2n, data: utf8('b') });
    await backend.delete('c/e/k/0000000000000000001');
    await expect(consensus.scan('k', 0n)).rejects.toMatchObject({ code: 'CHAIN_INTEGRITY' });
  });
});
