import { describe, expect, it } from 'vitest';
import type { CasKv, KvChange } from '../../contracts/cas-kv.js';
import { bytesEqual } from '../../core/bytes.js';
import {
  BAD_BYTES,
  BAD_KEYS,
  b,
  casIncrementRace,
  rejectsWith,
  s,
  type Factory,
  holdEachWrite,
  type HeldWritesHarness,
} from './support.js';
import { fakeBytes, oddBytes, rejectsFake } from './odd-bytes.js';

/** Options of {@link casKvConformance}. */
export interface CasKvConformanceOptions {
  /** Concurrent CAS writers in the race case (default 8). */
  writers?: number;
  /** Successful CAS rounds each writer makes (default 25). */
  rounds?: number;
  /**
   * Remote implementations: a store whose backend's writes pass through `holds`, for the cases of
   * a write that times out and lands later (its retry then refused).
   */
  heldWrites?: Factory<HeldWritesHarness<CasKv>>;
}

/**
 * The CasKv conformance suite: slipstream's KvWriter semantics (tombstones, create after delete vs
 * after deleteWithVersion, CAS from a tombstone, no ABA), the reader, watch, bad input, and a race.
 */
export function casKvConformance(
  name: string,
  factory: Factory<CasKv>,
  options: CasKvConformanceOptions = {},
): void {
  const { writers = 8, rounds = 25, heldWrites } = options;

  describe(`CasKv conformance: ${name}`, () => {
    it('reads an absent key as null, through get and entry', async () => {
      const kv = await factory();
      expect(await kv.get('absent')).toBeNull();
      expect(await kv.entry('absent')).toBeNull();
      expect(await kv.keys()).toEqual([]);
    });

    it('put stores a value and returns a version that get reports', async () => {
      const kv = await factory();
      const v = await kv.put('a', b('one'));
      const got = await kv.get('a');
      expect(s(got?.value)).toBe('one');
      expect(got?.version).toBe(v);
      expect((await kv.entry('a'))?.version).toBe(v);
    });

    it('gives every write a new version token', async () => {
      const kv = await factory();
      const tokens = new Set<string>();
      for (let i = 0; i < 5; i++) tokens.add(await kv.put('a', b('same')));
      tokens.add(await kv.put('b', b('same')));
      expect(tokens.size).toBe(6);
    });

    it('create succeeds on an absent key and refuses a live one, leaving it unchanged', async () => {
      const kv = await factory();
      const v = await kv.create('a', b('first'));
      await rejectsWith(kv.create('a', b('second')), 'ALREADY_EXISTS');
      const got = await kv.get('a');
      expect(s(got?.value)).toBe('first');
      expect(got?.version).toBe(v);
    });

    it('update swaps only from the current version', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('one'));
      const v2 = await kv.update('a', b('two'), v1);
      expect(v2).not.toBe(v1);
      await rejectsWith(kv.update('a', b('stale'), v1), 'REVISION_MISMATCH');
      expect(s((await kv.get('a'))?.value)).toBe('two');
      expect((await kv.get('a'))?.version).toBe(v2);
    });

    it('update of a key that never existed is a revision mismatch and creates nothing', async () => {
      const kv = await factory();
      const other = await kv.put('other', b('x'));
      await rejectsWith(kv.update('never', b('x'), other), 'REVISION_MISMATCH');
      expect(await kv.entry('never')).toBeNull();
    });

    it('is free of ABA: a token from before A, B, A stays stale', async () => {
      const kv = await factory();
      const tA = await kv.put('k', b('A'));
      await kv.put('k', b('B'));
      const tA2 = await kv.put('k', b('A'));
      expect(tA2).not.toBe(tA);
      await rejectsWith(kv.update('k', b('C'), tA), 'REVISION_MISMATCH');
      await rejectsWith(kv.deleteWithVersion('k', tA), 'REVISION_MISMATCH');
      expect(s((await kv.get('k'))?.value)).toBe('A');
    });

    it('delete removes the key entirely and reports whether a value was live', async () => {
      const kv = await factory();
      await kv.put('a', b('x'));
      expect(await kv.delete('a')).toBe(true);
      expect(await kv.get('a')).toBeNull();
      expect(await kv.entry('a')).toBeNull();
      expect(await kv.delete('a')).toBe(false);
      expect(await kv.delete('never')).toBe(false);
    });

    it('create after delete succeeds with a fresh version', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('x'));
      await kv.delete('a');
      const v2 = await kv.create('a', b('y'));
      expect(v2).not.toBe(v1);
      expect(s((await kv.get('a'))?.value)).toBe('y');
    });

    it('deleteWithVersion writes a tombstone: absent to get, visible to entry, skipped by keys and scan', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('x'));
      await kv.put('b', b('y'));
      expect(await kv.deleteWithVersion('a', v1)).toBe(true);
      expect(await kv.get('a')).toBeNull();
      const tomb = await kv.entry('a');
      expect(tomb).not.toBeNull();
      expect(tomb?.value.length).toBe(0);
      expect(tomb?.version).not.toBe(v1);
      expect(await kv.keys()).toEqual(['b']);
      expect((await kv.scan()).map((i) => i.key)).toEqual(['b']);
    });

    it('create after deleteWithVersion succeeds over the tombstone', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('x'));
      await kv.deleteWithVersion('a', v1);
      const tomb = await kv.entry('a');
      const v2 = await kv.create('a', b('again'));
      expect(v2).not.toBe(tomb?.version);
      expect(s((await kv.get('a'))?.value)).toBe('again');
    });

    it('deleteWithVersion makes a concurrent CAS writer conflict, and CAS from the tombstone works', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('x'));
      await kv.deleteWithVersion('a', v1);
      // A writer that read v1 before the delete must not resurrect the key.
      await rejectsWith(kv.update('a', b('lost'), v1), 'REVISION_MISMATCH');
      expect(await kv.get('a')).toBeNull();
      const tomb = await kv.entry('a');
      const v3 = await kv.update('a', b('revived'), tomb!.version);
      expect((await kv.get('a'))?.version).toBe(v3);
    });

    it('deleteWithVersion refuses a stale version and a key that never existed', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('x'));
      await kv.put('a', b('y'));
      await rejectsWith(kv.deleteWithVersion('a', v1), 'REVISION_MISMATCH');
      expect(s((await kv.get('a'))?.value)).toBe('y');
      await rejectsWith(kv.deleteWithVersion('never', v1), 'REVISION_MISMATCH');
      expect(await kv.entry('never')).toBeNull();
    });

    it('deleteWithVersion of a tombstone reports false and leaves a new tombstone', async () => {
      const kv = await factory();
      const v1 = await kv.put('a', b('x'));
      await kv.deleteWithVersion('a', v1);
      const tomb = (await kv.entry('a'))!;
      expect(await kv.deleteWithVersion('a', tomb.version)).toBe(false);
      const tomb2 = (await kv.entry('a'))!;
      expect(tomb2.value.length).toBe(0);
      expect(tomb2.version).not.toBe(tomb.version);
      expect(await kv.delete('a')).toBe(false);
      expect(await kv.entry('a')).toBeNull();
    });

    it('keys and scan filter by exact prefix and sort ascending', async () => {
      const kv = await factory();
      for (const key of ['b/2', 'a', 'b/1', 'ba', 'b/10', 'c']) await kv.put(key, b(key));
      expect(await kv.keys('b/')).toEqual(['b/1', 'b/10', 'b/2']);
      expect(await kv.keys('b')).toEqual(['b/1', 'b/10', 'b/2', 'ba']);
      expect(await kv.keys()).toEqual(['a', 'b/1', 'b/10', 'b/2', 'ba', 'c']);
      expect(await kv.keys('zzz')).toEqual([]);
      const items = await kv.scan('b/');
      expect(items.map((i) => [i.key, s(i.value)])).toEqual([
        ['b/1', 'b/1'],
        ['b/10', 'b/10'],
        ['b/2', 'b/2'],
      ]);
      for (const item of items) expect((await kv.get(item.key))?.version).toBe(item.version);
    });

    it('keeps keys with slashes, spaces and non-ASCII apart', async () => {
      const kv = await factory();
      const keys = ['a/b', 'a b', 'a%2Fb', 'ключ', '鍵/値', '😀'];
      for (const key of keys) await kv.put(key, b(`v:${key}`));
      for (const key of keys) expect(s((await kv.get(key))?.value)).toBe(`v:${key}`);
      expect((await kv.keys()).length).toBe(keys.length);
    });

    it('stores a copy: mutating the caller’s arrays changes nothing stored', async () => {
      const kv = await factory();
      const value = b('abc');
      await kv.put('a', value);
      value[0] = 0x7a;
      const got = await kv.get('a');
      expect(s(got?.value)).toBe('abc');
      got!.value[0] = 0x7a;
      expect(s((await kv.get('a'))?.value)).toBe('abc');
    });

    it('stores binary values byte for byte, including large ones', async () => {
      const kv = await factory();
      const value = new Uint8Array(256 * 1024);
      for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
      await kv.put('bin', value);
      expect(bytesEqual((await kv.get('bin'))!.value, value)).toBe(true);
    });

    it('watch lists current values first, then delivers later changes under its prefix', async () => {
      const kv = await factory();
      await kv.put('p/1', b('one'));
      await kv.put('q/1', b('other'));
      const v2 = await kv.put('p/2', b('two'));
      const seen: KvChange[] = [];
      const stop = await kv.watch('p/', (change) => seen.push(change));
      expect(seen.map((c) => [c.type, c.key])).toEqual([
        ['put', 'p/1'],
        ['put', 'p/2'],
      ]);
      const v3 = await kv.put('p/3', b('three'));
      await kv.put('q/2', b('ignored'));
      await kv.deleteWithVersion('p/2', v2);
      await kv.delete('p/1');
      await waitFor(() => seen.length >= 5);
      expect(seen.slice(2).map((c) => [c.type, c.key])).toEqual([
        ['put', 'p/3'],
        ['delete', 'p/2'],
        ['delete', 'p/1'],
      ]);
      const put3 = seen[2];
      expect(put3?.type === 'put' && s(put3.value)).toBe('three');
      expect(put3?.version).toBe(v3);
      stop();
      await kv.put('p/4', b('after stop'));
      await new Promise((r) => setTimeout(r, 50));
      expect(seen.length).toBe(5);
    });

    it('rejects bad keys with INVALID_ARGUMENT on every method, changing nothing', async () => {
      const kv = await factory();
      const v = await kv.put('ok', b('x'));
      for (const [, key] of BAD_KEYS) {
        const k = key as string;
        await rejectsWith(kv.get(k), 'INVALID_ARGUMENT');
        await rejectsWith(kv.entry(k), 'INVALID_ARGUMENT');
        await rejectsWith(kv.put(k, b('x')), 'INVALID_ARGUMENT');
        await rejectsWith(kv.create(k, b('x')), 'INVALID_ARGUMENT');
        await rejectsWith(kv.update(k, b('x'), v), 'INVALID_ARGUMENT');
        await rejectsWith(kv.delete(k), 'INVALID_ARGUMENT');
        await rejectsWith(kv.deleteWithVersion(k, v), 'INVALID_ARGUMENT');
      }
      await rejectsWith(kv.keys(42 as never), 'INVALID_ARGUMENT');
      await rejectsWith(
        kv.watch(null as never, () => {}),
        'INVALID_ARGUMENT',
      );
      expect(await kv.keys()).toEqual(['ok']);
      expect((await kv.get('ok'))?.version).toBe(v);
    });

    it('rejects values that are not Uint8Arrays, and bad tokens, changing nothing', async () => {
      const kv = await factory();
      const v = await kv.put('ok', b('x'));
      for (const [, value] of BAD_BYTES) {
        await rejectsWith(kv.put('ok', value as never), 'INVALID_ARGUMENT');
        await rejectsWith(kv.create('new', value as never), 'INVALID_ARGUMENT');
        await rejectsWith(kv.update('ok', value as never, v), 'INVALID_ARGUMENT');
      }
      for (const token of ['', 7, null, undefined]) {
        await rejectsWith(kv.update('ok', b('y'), token as never), 'INVALID_ARGUMENT');
        await rejectsWith(kv.deleteWithVersion('ok', token as never), 'INVALID_ARGUMENT');
      }
      expect(await kv.keys()).toEqual(['ok']);
      expect((await kv.get('ok'))?.version).toBe(v);
      expect(s((await kv.get('ok'))?.value)).toBe('x');
    });

    describe("an empty value is seed 001's logical delete", () => {
      const empty = () => new Uint8Array(0);

      it('put of an empty value: get reads absent, entry shows it with its version, keys and scan skip it', async () => {
        const kv = await factory();
        const live = await kv.put('a', b('x'));
        await kv.put('b', b('y'));
        const gone = await kv.put('a', empty());
        expect(gone).not.toBe(live);
        expect(await kv.get('a')).toBeNull();
        expect(await kv.entry('a')).toEqual({ value: empty(), version: gone });
        expect(await kv.keys()).toEqual(['b']);
        expect((await kv.scan()).map((i) => i.key)).toEqual(['b']);
        // On a key that never existed, too: the empty value is recorded, and reads as absent.
        const fresh = await kv.put('fresh', empty());
        expect(await kv.get('fresh')).toBeNull();
        expect((await kv.entry('fresh'))?.version).toBe(fresh);
      });

      it('create succeeds over an empty value; an empty create over a live value is ALREADY_EXISTS', async () => {
        const kv = await factory();
        const gone = await kv.put('a', empty());
        const again = await kv.create('a', b('again'));
        expect(again).not.toBe(gone);
        expect(s((await kv.get('a'))?.value)).toBe('again');
        await rejectsWith(kv.create('a', empty()), 'ALREADY_EXISTS');
        expect((await kv.get('a'))?.version).toBe(again);
        const created = await kv.create('new', empty());
        expect(await kv.get('new')).toBeNull();
        expect((await kv.entry('new'))?.version).toBe(created);
      });

      it('update and deleteWithVersion work from its version; a writer that read before it conflicts', async () => {
        const kv = await factory();
        const live = await kv.put('a', b('x'));
        const gone = await kv.put('a', empty());
        await rejectsWith(kv.update('a', b('lost'), live), 'REVISION_MISMATCH');
        await rejectsWith(kv.deleteWithVersion('a', live), 'REVISION_MISMATCH');
        expect(await kv.deleteWithVersion('a', gone)).toBe(false);
        const tomb = (await kv.entry('a'))!;
        expect(tomb.value.length).toBe(0);
        const revived = await kv.update('a', b('revived'), tomb.version);
        expect((await kv.get('a'))?.version).toBe(revived);
      });

      it('update to an empty value is a compare-and-swap delete', async () => {
        const kv = await factory();
        const live = await kv.put('a', b('x'));
        const gone = await kv.update('a', empty(), live);
        expect(await kv.get('a')).toBeNull();
        expect(await kv.entry('a')).toEqual({ value: empty(), version: gone });
        await rejectsWith(kv.update('a', empty(), live), 'REVISION_MISMATCH');
      });

      it('delete erases an empty value and reports that nothing live was removed', async () => {
        const kv = await factory();
        await kv.put('a', empty());
        expect(await kv.delete('a')).toBe(false);
        expect(await kv.entry('a')).toBeNull();
      });

      it('watch lists nothing for an empty value and delivers putting one as a delete with its version', async () => {
        const kv = await factory();
        await kv.put('p/gone', empty());
        await kv.put('p/live', b('x'));
        const seen: KvChange[] = [];
        const stop = await kv.watch('p/', (change) => seen.push(change));
        expect(seen.map((c) => [c.type, c.key])).toEqual([['put', 'p/live']]);
        const gone = await kv.put('p/live', empty());
        await waitFor(() => seen.length >= 2);
        expect(seen[1]).toEqual({ type: 'delete', key: 'p/live', version: gone });
        stop();
      });
    });

    describe('bytes that are not what they claim, and watchers that are not functions', () => {
      it('rejects fake and detached byte arrays with INVALID_ARGUMENT naming the value, changing nothing', async () => {
        const kv = await factory();
        const v = await kv.put('ok', b('x'));
        for (const fake of fakeBytes()) {
          await rejectsFake(kv.put('ok', fake.value as never), 'value', fake);
          await rejectsFake(kv.create('new', fake.value as never), 'value', fake);
          await rejectsFake(kv.update('ok', fake.value as never, v), 'value', fake);
        }
        expect(await kv.keys()).toEqual(['ok']);
        expect((await kv.get('ok'))?.version).toBe(v);
      });

      it('stores a copy of just the viewed bytes of a subclass or a view into a larger buffer', async () => {
        const kv = await factory();
        const odd = oddBytes();
        for (const [i, { value }] of odd.cases.entries()) await kv.put(`odd/${i}`, value);
        odd.scribble();
        for (const [i, { why, bytes }] of odd.cases.entries()) {
          expect([...(await kv.get(`odd/${i}`))!.value], why).toEqual(bytes);
        }
      });

      it('watch refuses a watcher that is not a function, watching nothing', async () => {
        const kv = await factory();
        for (const bad of [undefined, null, 'watcher', { onChange() {} }, 42]) {
          await rejectsWith(kv.watch('', bad as never), 'INVALID_ARGUMENT');
        }
        await kv.put('after', b('x')); // no watcher was registered that this could reach
      });
    });

    it(`a race of ${writers} CAS writers x ${rounds} rounds: no update is lost, no version wins twice`, async () => {
      const kv = await factory();
      await kv.put('counter', b('0'));
      const winners = await casIncrementRace(
        Array.from({ length: writers }, () => kv),
        'counter',
        rounds,
      );
      expect(s((await kv.get('counter'))?.value)).toBe(String(writers * rounds));
      expect(winners.size).toBe(writers * rounds);
    });

    if (heldWrites) {
      // A write times out, the read-back finds nothing yet, then the write lands and its retry is
      // refused: every operation must still report the write it made, exactly once.
      for (const lands of ['after-read-back', 'manual'] as const) {
        const when = lands === 'manual' ? 'after the call' : 'after the read-back';
        it(`a write that times out and lands ${when} is reported as made, once, whichever write it is`, async () => {
          const { store: kv, holds } = await heldWrites();
          const runs = await holdEachWrite(
            holds,
            lands,
            async (round) => {
              const key = `held-${round}`;
              const v1 = await kv.create(key, b('one'));
              expect((await kv.get(key))?.version).toBe(v1);
              const v2 = await kv.update(key, b('two'), v1);
              expect((await kv.get(key))?.version).toBe(v2);
              const v3 = await kv.put(key, b('three'));
              expect((await kv.get(key))?.version).toBe(v3);
              expect(await kv.deleteWithVersion(key, v3)).toBe(true);
              const tomb = await kv.entry(key);
              expect(tomb?.value.length).toBe(0);
              const v4 = await kv.update(key, b('four'), tomb!.version);
              expect((await kv.get(key))?.version).toBe(v4);
              expect(await kv.delete(key)).toBe(true);
              const v5 = await kv.create(key, b('five'));
              expect(new Set([v1, v2, v3, tomb!.version, v4, v5]).size).toBe(6);
            },
            async (round) => {
              const got = await kv.get(`held-${round}`);
              expect(s(got?.value)).toBe('five');
            },
          );
          expect(runs).toBeGreaterThanOrEqual(7);
        });
      }
    }
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting for watch events');
    await new Promise((r) => setTimeout(r, 5));
  }
}
