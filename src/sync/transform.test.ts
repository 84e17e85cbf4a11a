import { describe, expect, it } from 'vitest';
import type { Operation, Properties } from './operations.js';
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
