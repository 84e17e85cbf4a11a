import { describe, expect, it } from 'vitest';
import { MAX_SEQNO, SCAN_ALL, type Consensus, type VersionedData } from '../../contracts/consensus.js';
import {
  BAD_BYTES,
  BAD_KEYS,
  b,
  concurrently,
  rejectsWith,
  s,
  type Factory,
  holdEachWrite,
  type HeldWritesHarness,
} from './support.js';
import { fakeBytes, oddBytes, rejectsFake } from './odd-bytes.js';

/** Options of {@link consensusConformance}. */
export interface ConsensusConformanceOptions {
  /** Concurrent writers in the race case (default 8). */
  writers?: number;
  /** Appends each writer makes (default 25). */
  rounds?: number;
  /**
   * Remote implementations: a store whose backend's writes pass through `holds`, for the cases of
   * a write that times out and lands later (its retry then refused).
   */
  heldWrites?: Factory<HeldWritesHarness<Consensus>>;
}

const state = (seqno: bigint, data: string): VersionedData => ({ seqno, data: b(data) });
const plain = (vs: VersionedData[] | VersionedData | null) =>
  vs === null ? null : (Array.isArray(vs) ? vs : [vs]).map((v) => [v.seqno, s(v.data)]);

/**
 * The Consensus conformance suite: Materialize's `consensus_impl_test` replayed step by step, the
 * order of compare-and-set's checks, bad input, and a race of concurrent appenders.
 */
export function consensusConformance(
  name: string,
  factory: Factory<Consensus>,
  options: ConsensusConformanceOptions = {},
): void {
  const { writers = 8, rounds = 25, heldWrites } = options;

  describe(`Consensus conformance: ${name}`, () => {
    it("replays Materialize's consensus_impl_test script", async () => {
      const c = await factory();
      const key = crypto.randomUUID();
      // Starting value of consensus data is None; a key with no data scans empty.
      expect(await c.head(key)).toBeNull();
      expect(await c.scan(key, 0n, SCAN_ALL)).toEqual([]);
      // Cannot truncate data from a key that doesn't have any.
      await rejectsWith(c.truncate(key, 0n), 'NOT_FOUND');

      const first = state(5n, 'abc');
      // A non-null expectation on an absent key mismatches, and does not create the key.
      expect(await c.compareAndSet(key, 0n, first)).toBe('ExpectationMismatch');
      expect(await c.head(key)).toBeNull();
      expect(await c.listKeys()).toEqual([]);
      // The right expectation commits; head and scans observe it.
      expect(await c.compareAndSet(key, null, first)).toBe('Committed');
      expect(plain(await c.head(key))).toEqual(plain(first));
      expect(plain(await c.scan(key, 0n, SCAN_ALL))).toEqual(plain([first]));
      expect(plain(await c.scan(key, 5n, SCAN_ALL))).toEqual(plain([first]));
      expect(await c.scan(key, 6n, SCAN_ALL)).toEqual([]);
      // Truncate with a bound <= head works even when nothing lies below it.
      expect(await c.truncate(key, 0n)).toBe(0);
      expect(await c.truncate(key, 5n)).toBe(0);
      // A bound beyond the head is an error, and changes nothing.
      await rejectsWith(c.truncate(key, 6n), 'INVALID_ARGUMENT');
      expect(plain(await c.head(key))).toEqual(plain(first));
      expect(plain(await c.scan(key, 0n, SCAN_ALL))).toEqual(plain([first]));
      expect(plain(await c.scan(key, 5n, SCAN_ALL))).toEqual(plain([first]));
      expect(await c.listKeys()).toEqual([key]);

      const second = state(10n, 'def');
      // Wrong expectations mismatch, whether below, above or null.
      expect(await c.compareAndSet(key, 7n, second)).toBe('ExpectationMismatch');
      expect(await c.compareAndSet(key, null, second)).toBe('ExpectationMismatch');
      // A seqno not greater than the expected one is an error (constant, then regressing).
      await rejectsWith(c.compareAndSet(key, 5n, state(5n, 'invalid')), 'INVALID_ARGUMENT');
      await rejectsWith(c.compareAndSet(key, 5n, state(3n, 'invalid')), 'INVALID_ARGUMENT');
      expect(plain(await c.head(key))).toEqual(plain(first));
      // The right expectation commits.
      expect(await c.compareAndSet(key, 5n, second)).toBe('Committed');
      expect(plain(await c.head(key))).toEqual(plain(second));
      expect(plain(await c.scan(key, 5n, SCAN_ALL))).toEqual(plain([first, second]));
      expect(plain(await c.scan(key, 6n, SCAN_ALL))).toEqual(plain([second]));
      expect(plain(await c.scan(key, 10n, SCAN_ALL))).toEqual(plain([second]));
      expect(await c.scan(key, 11n, SCAN_ALL)).toEqual([]);
      // Limits.
      expect(plain(await c.scan(key, 0n, 1))).toEqual(plain([first]));
      expect(plain(await c.scan(key, 5n, 1))).toEqual(plain([first]));
      expect(plain(await c.scan(key, 0n, 2))).toEqual(plain([first, second]));
      expect(plain(await c.scan(key, 4n, 100))).toEqual(plain([first, second]));
      // Truncation removes the older write; it is idempotent.
      expect(await c.truncate(key, 6n)).toBe(1);
      expect(plain(await c.scan(key, 0n, SCAN_ALL))).toEqual(plain([second]));
      expect(await c.truncate(key, 6n)).toBe(0);

      // Another key does not clash.
      const other = crypto.randomUUID();
      expect(await c.head(other)).toBeNull();
      const otherState = state(1n, 'einszweidrei');
      expect(await c.compareAndSet(other, null, otherState)).toBe('Committed');
      expect(plain(await c.head(other))).toEqual(plain(otherState));
      expect(plain(await c.head(key))).toEqual(plain(second));
      expect(await c.listKeys()).toEqual([key, other].sort());
      // Updating from another key's (stale) seqno does not work.
      expect(await c.compareAndSet(key, 1n, state(11n, 'invalid'))).toBe('ExpectationMismatch');

      // About 10 KiB of data is fine.
      const large = { seqno: 11n, data: new Uint8Array(10_240).fill(0x61) };
      expect(await c.compareAndSet(key, 10n, large)).toBe('Committed');
      expect((await c.head(key))?.data).toEqual(large.data);
      // The largest SeqNo, i64::MAX, can be stored; one more cannot.
      expect(await c.compareAndSet(key, 11n, state(MAX_SEQNO, 'max'))).toBe('Committed');
      expect((await c.head(key))?.seqno).toBe(MAX_SEQNO);
      await rejectsWith(
        c.compareAndSet(key, MAX_SEQNO, state(MAX_SEQNO + 1n, 'too big')),
        'INVALID_ARGUMENT',
      );
      expect((await c.head(key))?.seqno).toBe(MAX_SEQNO);
    });

    it('checks next.seqno <= expected before the range, and both before the expectation', async () => {
      const c = await factory();
      await c.compareAndSet('k', null, state(3n, 'a'));
      // Even when the expectation is wrong, invalid arguments are errors, not mismatches.
      await rejectsWith(c.compareAndSet('k', 9n, state(9n, 'x')), 'INVALID_ARGUMENT');
      await rejectsWith(c.compareAndSet('k', 9n, state(MAX_SEQNO + 1n, 'x')), 'INVALID_ARGUMENT');
      const e = await rejectsWith(c.compareAndSet('k', 9n, state(2n, 'x')), 'INVALID_ARGUMENT');
      expect(e.message).toMatch(/greater/);
      expect(plain(await c.head('k'))).toEqual([[3n, 'a']]);
    });

    it('accepts seqno 0 as the first write and empty data', async () => {
      const c = await factory();
      expect(await c.compareAndSet('z', null, { seqno: 0n, data: new Uint8Array(0) })).toBe('Committed');
      const head = await c.head('z');
      expect(head?.seqno).toBe(0n);
      expect(head?.data.length).toBe(0);
      expect(await c.truncate('z', 0n)).toBe(0);
    });

    it('keeps gaps in sequence numbers as written and scans across them', async () => {
      const c = await factory();
      let expected: bigint | null = null;
      for (const seqno of [1n, 2n, 7n, 100n, 2n ** 40n]) {
        expect(await c.compareAndSet('g', expected, state(seqno, `v${seqno}`))).toBe('Committed');
        expected = seqno;
      }
      expect((await c.scan('g', 3n)).map((v) => v.seqno)).toEqual([7n, 100n, 2n ** 40n]);
      expect(await c.truncate('g', 100n)).toBe(3);
      expect((await c.scan('g', 0n)).map((v) => v.seqno)).toEqual([100n, 2n ** 40n]);
    });

    it('rejects bad keys, SeqNos, data and limits with INVALID_ARGUMENT, changing nothing', async () => {
      const c = await factory();
      await c.compareAndSet('k', null, state(1n, 'a'));
      for (const [, key] of BAD_KEYS) {
        const k = key as string;
        await rejectsWith(c.head(k), 'INVALID_ARGUMENT');
        await rejectsWith(c.compareAndSet(k, null, state(1n, 'x')), 'INVALID_ARGUMENT');
        await rejectsWith(c.scan(k, 0n), 'INVALID_ARGUMENT');
        await rejectsWith(c.truncate(k, 0n), 'INVALID_ARGUMENT');
      }
      for (const bad of [-1n, MAX_SEQNO + 1n, 1, '1', null, undefined]) {
        await rejectsWith(
          c.compareAndSet('k', 1n, { seqno: bad as never, data: b('x') }),
          'INVALID_ARGUMENT',
        );
        await rejectsWith(c.scan('k', bad as never), 'INVALID_ARGUMENT');
        await rejectsWith(c.truncate('k', bad as never), 'INVALID_ARGUMENT');
      }
      for (const bad of [-1n, MAX_SEQNO + 1n, 1, 'x']) {
        await rejectsWith(c.compareAndSet('k', bad as never, state(2n, 'x')), 'INVALID_ARGUMENT');
      }
      for (const [, data] of BAD_BYTES) {
        await rejectsWith(c.compareAndSet('k', 1n, { seqno: 2n, data: data as never }), 'INVALID_ARGUMENT');
      }
      await rejectsWith(c.compareAndSet('k', 1n, null as never), 'INVALID_ARGUMENT');
      for (const limit of [-1, 1.5, Number.NaN, '3']) {
        await rejectsWith(c.scan('k', 0n, limit as never), 'INVALID_ARGUMENT');
      }
      expect(plain(await c.scan('k', 0n))).toEqual([[1n, 'a']]);
      expect(await c.listKeys()).toEqual(['k']);
    });

    it('stores a copy of the data', async () => {
      const c = await factory();
      const data = b('abc');
      await c.compareAndSet('k', null, { seqno: 1n, data });
      data[0] = 0x7a;
      const head = await c.head('k');
      expect(s(head?.data)).toBe('abc');
      head!.data[0] = 0x7a;
      expect(s((await c.head('k'))?.data)).toBe('abc');
    });

    describe('bytes that are not what they claim', () => {
      it('rejects fake and detached data with INVALID_ARGUMENT naming next.data, changing nothing', async () => {
        const c = await factory();
        await c.compareAndSet('k', null, state(1n, 'a'));
        for (const fake of fakeBytes()) {
          await rejectsFake(
            c.compareAndSet('k', 1n, { seqno: 2n, data: fake.value as never }),
            'next.data',
            fake,
          );
          await rejectsFake(
            c.compareAndSet('new', null, { seqno: 0n, data: fake.value as never }),
            'next.data',
            fake,
          );
        }
        expect(plain(await c.scan('k', 0n))).toEqual([[1n, 'a']]);
        expect(await c.listKeys()).toEqual(['k']);
      });

      it('stores a copy of just the viewed bytes of a subclass or a view into a larger buffer', async () => {
        const c = await factory();
        const odd = oddBytes();
        for (const [i, { value }] of odd.cases.entries()) {
          await c.compareAndSet(`odd/${i}`, null, { seqno: 0n, data: value });
        }
        odd.scribble();
        for (const [i, { why, bytes }] of odd.cases.entries()) {
          expect([...(await c.head(`odd/${i}`))!.data], why).toEqual(bytes);
        }
      });
    });

    it(`a race of ${writers} writers x ${rounds} appends: no seqno committed twice, gapless, winners' payloads`, async () => {
      const c = await factory();
      const key = 'race';
      const committed = new Map<bigint, string>();
      await concurrently(writers, async (w) => {
        for (let n = 0; n < rounds;) {
          const head = await c.head(key);
          const seqno = head ? head.seqno + 1n : 0n;
          const payload = `w${w}-n${n}`;
          const result = await c.compareAndSet(key, head?.seqno ?? null, state(seqno, payload));
          if (result !== 'Committed') continue;
          expect(committed.has(seqno), `seqno ${seqno} committed twice`).toBe(false);
          committed.set(seqno, payload);
          n++;
        }
      });
      const chain = await c.scan(key, 0n, SCAN_ALL);
      expect(chain.length).toBe(writers * rounds);
      chain.forEach((v, i) => {
        expect(v.seqno).toBe(BigInt(i));
        expect(s(v.data)).toBe(committed.get(v.seqno));
      });
    });

    if (heldWrites) {
      // A write times out, the read-back finds nothing yet, then it lands and its retry is refused:
      // an append or truncate that landed must be reported as done, never as a mismatch.
      for (const lands of ['after-read-back', 'manual'] as const) {
        const when = lands === 'manual' ? 'after the call' : 'after the read-back';
        it(`an append or truncate whose write times out and lands ${when} is reported as done`, async () => {
          const { store: c, holds } = await heldWrites();
          const runs = await holdEachWrite(
            holds,
            lands,
            async (round) => {
              const key = `held-${round}`;
              expect(await c.compareAndSet(key, null, state(1n, 'one'))).toBe('Committed');
              expect(await c.compareAndSet(key, 1n, state(2n, 'two'))).toBe('Committed');
              expect(await c.compareAndSet(key, 2n, state(3n, 'three'))).toBe('Committed');
              expect(await c.truncate(key, 3n)).toBe(2);
            },
            async (round) => {
              expect(plain(await c.scan(`held-${round}`, 0n, SCAN_ALL))).toEqual([[3n, 'three']]);
            },
          );
          expect(runs).toBeGreaterThanOrEqual(4);
        });
      }
    }
  });
}
