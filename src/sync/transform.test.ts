import type { Operation, Properties } from '../contracts/replica.js';
import { describe, expect, it } from 'vitest';
import { rebase, transform } from './transform.js';
import { applyOperation } from './working-set.js';

const create = (id = 'x', collection = 'c'): Operation => ({ type: 'create', collection, id });
const del = (id = 'x', collection = 'c'): Operation => ({ type: 'delete', collection, id });
const update = (
  property: string,
  value: unknown,
  timestamp: number,
  id = 'x',
  collection = 'c',
): Operation => ({
  type: 'update',
  collection,
  id,
  property,
  value: value as never,
  timestamp,
});

describe('transform (server op already in the chain, local op being rebased)', () => {
  // Every pair of operation kinds on the same object, with the expected survivors.
  const cases: [string, Operation, Operation, 'both' | 'server' | 'local' | 'neither'][] = [
    ['Create/Create collapse', create(), create(), 'neither'],
    ['Delete/Delete collapse', del(), del(), 'neither'],
    ['Create beats Delete (server create)', create(), del(), 'server'],
    ['Create beats Delete (local create)', del(), create(), 'local'],
    ['Update beats Create (server update)', update('p', 1, 5), create(), 'server'],
    ['Update beats Create (local update)', create(), update('p', 1, 5), 'local'],
    ['Delete beats Update (server delete)', del(), update('p', 1, 5), 'server'],
    ['Delete beats Update (local delete)', update('p', 1, 5), del(), 'local'],
    ['Update/Update same property: later local wins', update('p', 1, 5), update('p', 2, 6), 'local'],
    ['Update/Update same property: later server wins', update('p', 1, 6), update('p', 2, 5), 'server'],
    ['Update/Update same property: a tie goes to the chain', update('p', 1, 5), update('p', 2, 5), 'server'],
    [
      'Update/Update same property and value collapse',
      update('p', { a: [1] }, 5),
      update('p', { a: [1] }, 9),
      'neither',
    ],
    ['Update/Update: removal vs value is a conflict', update('p', undefined, 5), update('p', 2, 6), 'local'],
    ['Update/Update different properties do not conflict', update('p', 1, 5), update('q', 2, 5), 'both'],
  ];
  for (const [name, server, local, survivors] of cases) {
    it(name, () => {
      const [s, l] = transform(server, local);
      expect(s).toBe(survivors === 'both' || survivors === 'server' ? server : null);
      expect(l).toBe(survivors === 'both' || survivors === 'local' ? local : null);
    });
  }

  it('operations on different objects, or the same id in another collection, pass unchanged', () => {
    const kinds = [create, del, (id?: string, c?: string) => update('p', 1, 5, id, c)];
    for (const a of kinds) {
      for (const b of kinds) {
        const s = a('x');
        for (const l of [b('y'), b('x', 'other')]) expect(transform(s, l)).toEqual([s, l]);
      }
    }
  });

  it('converges: applying server then local′ equals applying local then server′ from a valid state', () => {
    // TP1 on the states where both operations are meaningful.
    const states: (Properties | null)[] = [null, {}, { p: 0 }, { p: 0, q: 'z' }];
    const ops = [create(), del(), update('p', 1, 5), update('p', 2, 6), update('p', 3, 5), update('q', 4, 1)];
    for (const state of states) {
      for (const s of ops) {
        for (const l of ops) {
          const valid = (op: Operation) =>
            op.type === 'create' ? state === null : op.type === 'delete' ? state !== null : state !== null;
          if (!valid(s) || !valid(l)) continue;
          const [s2, l2] = transform(s, l);
          const a = l2 ? applyOperation(applyOperation(state, s), l2) : applyOperation(state, s);
          const b = s2 ? applyOperation(applyOperation(state, l), s2) : applyOperation(state, l);
          expect([state, s, l, a]).toEqual([state, s, l, b]);
        }
      }
    }
  });
});

describe('rebase', () => {
  const p = (seq: number, op: Operation) => ({ seq, op });

  it('keeps local order and drops exactly the losers', () => {
    const local = [p(1, update('p', 'L', 1)), p(2, create('y')), p(3, update('q', 'L', 9)), p(4, del('z'))];
    const server = [update('p', 'S', 2), del('z'), update('q', 'S', 3)];
    const { kept, dropped } = rebase(server, local);
    expect(kept.map((k) => k.seq)).toEqual([2, 3]);
    expect(dropped.map((k) => k.seq)).toEqual([1, 4]);
  });

  it('a server op dropped by an earlier local op no longer affects later ones (TaskChampion order)', () => {
    // server Delete x vs local [Create x, Update x.p]: Create beats Delete, so the Delete is gone
    // and the Update survives.
    const { kept } = rebase([del()], [p(1, create()), p(2, update('p', 1, 1))]);
    expect(kept.map((k) => k.seq)).toEqual([1, 2]);
    // server Update x.p (t=5) vs local [Delete x, Create x, Update x.p (t=1)]: Delete beats the
    // Update, which then cannot touch the later local update.
    const r = rebase([update('p', 'S', 5)], [p(1, del()), p(2, create()), p(3, update('p', 'L', 1))]);
    expect(r.kept.map((k) => k.seq)).toEqual([1, 2, 3]);
  });

  it('each server op is transformed in turn', () => {
    const { kept, dropped } = rebase([update('p', 'a', 5), update('p', 'b', 7)], [p(1, update('p', 'L', 6))]);
    expect(kept).toEqual([]);
    expect(dropped.map((d) => d.seq)).toEqual([1]);
  });

  describe('overridden: chain operations a kept local operation beat', () => {
    const seqs = (r: { overridden: { server: Operation; by: { seq: number } }[] }) =>
      r.overridden.map((o) => [o.server, o.by.seq]);

    it('a later local update of the same property, to another value, overrides the chain update', () => {
      const server = update('p', 'S', 5);
      expect(seqs(rebase([server], [p(1, update('p', 'L', 6))]))).toEqual([[server, 1]]);
    });

    it('a local delete overrides the chain update of that object', () => {
      const server = update('p', 'S', 5);
      expect(seqs(rebase([server], [p(1, del())]))).toEqual([[server, 1]]);
    });

    it('a local create overrides the chain delete of that object', () => {
      const server = del();
      const r = rebase([server], [p(1, create()), p(2, update('p', 1, 1))]);
      expect(seqs(r)).toEqual([[server, 1]]);
    });

    it('several conflicts are reported in chain order, whatever the local order', () => {
      const s1 = update('q', 'S', 1, 'y');
      const s2 = update('p', 'S', 2);
      const s3 = del('z');
      const r = rebase(
        [s1, update('p', 'other', 1, 'w'), s2, s3],
        [p(1, create('z')), p(2, update('p', 'L', 9)), p(3, update('q', 'L', 9, 'y'))],
      );
      expect(seqs(r)).toEqual([
        [s1, 3],
        [s2, 2],
        [s3, 1],
      ]);
      expect(r.dropped).toEqual([]);
    });

    const notConflicts: [string, Operation[], Operation[]][] = [
      ['the chain update is later (local loses)', [update('p', 'S', 6)], [update('p', 'L', 5)]],
      ['a tie (the chain wins)', [update('p', 'S', 5)], [update('p', 'L', 5)]],
      ['both set the same value (collapse)', [update('p', 'same', 5)], [update('p', 'same', 9)]],
      ['different properties', [update('q', 'S', 5)], [update('p', 'L', 9)]],
      ['different objects', [update('p', 'S', 5, 'y')], [update('p', 'L', 9)]],
      ['Create/Update: the local update applies on top of the create', [create()], [update('p', 'L', 9)]],
      ['Create/Create collapse', [create()], [create()]],
      ['Delete/Delete collapse', [del()], [del()]],
      ['the chain delete beats a local update', [del()], [update('p', 'L', 9)]],
      ['the chain create beats a local delete', [create()], [del()]],
      ['the chain update beats a local create', [update('p', 'S', 1)], [create()]],
      // The local update beats the first chain update, then loses to the second: the chain's own
      // later update replaced the first, this replica's edit did not.
      [
        'a local winner that a later chain op beats',
        [update('p', 'a', 5), update('p', 'b', 7)],
        [update('p', 'L', 6)],
      ],
      // The local delete beats the update, then collapses with the chain's delete: not ours.
      ['a local delete that collapses with a later chain delete', [update('p', 'S', 5), del()], [del()]],
    ];
    for (const [name, server, local] of notConflicts) {
      it(`not reported: ${name}`, () => {
        expect(
          rebase(
            server,
            local.map((op, i) => p(i + 1, op)),
          ).overridden,
        ).toEqual([]);
      });
    }
  });

  it('stays linear for many operations on distinct objects', () => {
    const n = 20_000;
    const local = Array.from({ length: n }, (_, i) => p(i, update('p', i, 1, `l${i}`)));
    const server = Array.from({ length: n }, (_, i) => update('p', i, 2, i % 2 ? `l${i}` : `s${i}`));
    const { kept, dropped } = rebase(server, local);
    expect(dropped.length).toBe(n / 2);
    expect(kept.length).toBe(n / 2);
  });
});

describe('applyOperation', () => {
  it('create makes an empty object and keeps an existing one', () => {
    expect(applyOperation(null, create())).toEqual({});
    const existing = { a: 1 };
    expect(applyOperation(existing, create())).toBe(existing);
  });
  it('delete removes, and is a no-op on an absent object', () => {
    expect(applyOperation({ a: 1 }, del())).toBeNull();
    expect(applyOperation(null, del())).toBeNull();
  });
  it('update sets or removes one property without mutating the input, and ignores absent objects', () => {
    const before = { a: 1, b: 2 };
    expect(applyOperation(before, update('a', { deep: [true] }, 1))).toEqual({ a: { deep: [true] }, b: 2 });
    expect(applyOperation(before, update('b', undefined, 1))).toEqual({ a: 1 });
    expect(before).toEqual({ a: 1, b: 2 });
    expect(applyOperation(null, update('a', 1, 1))).toBeNull();
  });
  it('a property named __proto__ is an ordinary property', () => {
    const after = applyOperation({}, update('__proto__', 'x', 1))!;
    expect(Object.getPrototypeOf(after)).toBe(Object.prototype);
    expect(Object.keys(after)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(after))).toEqual(JSON.parse('{"__proto__":"x"}'));
  });
});
