/**
 * The record of landed plans (issue 12, item 3): the fold, the decision it allows for a push in
 * flight, and how segments and snapshots carry it — including those written before it existed.
 */
import { describe, expect, it } from 'vitest';
import type { InFlightPush } from '../contracts/replica-store.js';
import { utf8 } from '../core/bytes.js';
import { wrap } from './envelope.js';
import { foldLanded, landedFrom, landedIn, landedOf } from './landed.js';
import { decodeSegments, encodeSegment, type VersionPlace } from './segments.js';
import { decodeSnapshot, encodeSnapshot } from './snapshots.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { INITIAL_REPLICA_STATE } from '../contracts/replica-store.js';

const me = crypto.randomUUID();
const other = crypto.randomUUID();

/** A plan of `me` on a base at some height: versions of 2, 3 and 1 operations from seq 10. */
const push: InFlightPush = {
  replicaId: me,
  parentVersionId: crypto.randomUUID(),
  versions: [
    { versionId: crypto.randomUUID(), firstSeq: 10, count: 2 },
    { versionId: crypto.randomUUID(), firstSeq: 12, count: 3 },
    { versionId: crypto.randomUUID(), firstSeq: 15, count: 1 },
  ],
};

describe('landed plans: the fold and the decision', () => {
  it('keeps the highest first seq per replica, whatever order versions of different replicas come in', () => {
    const record = foldLanded(landedFrom(0), [
      { replicaId: me, firstSeq: 3 },
      null, // a version of an earlier release: says nothing
      { replicaId: other, firstSeq: 8 },
      { replicaId: me, firstSeq: 5 },
    ]);
    expect(record).toEqual({ from: 0, seqs: { [me]: 5, [other]: 8 } });
    expect(foldLanded(record, [{ replicaId: me, firstSeq: 4 }])).toBe(record);
  });

  it('a version of the plan in flight is held exactly when the record reached its first seq', () => {
    const held = (seq: number | undefined) => {
      const record = { from: 0, seqs: seq === undefined ? {} : { [me]: seq, [other]: 99 } };
      return push.versions.map((v) => landedIn(record, push, 4)?.(v));
    };
    expect(held(undefined)).toEqual([false, false, false]); // another replica's entry says nothing of mine
    expect(held(9)).toEqual([false, false, false]); // an earlier plan of mine
    expect(held(10)).toEqual([true, false, false]);
    expect(held(12)).toEqual([true, true, false]);
    expect(held(15)).toEqual([true, true, true]);
  });

  it('cannot tell for a plan without a replica id, or below where the record is complete', () => {
    const record = { from: 5, seqs: { [me]: 15 } };
    expect(landedIn(record, push, 5)).not.toBeNull();
    expect(landedIn(record, push, 4)).toBeNull();
    const { replicaId: _, ...old } = push;
    expect(landedIn({ from: 0, seqs: { [me]: 15 } }, old, 4)).toBeNull();
  });

  it('a state of an earlier release has a record complete from its base on', () => {
    expect(landedOf({ ...INITIAL_REPLICA_STATE, baseHeight: 7 })).toEqual({ from: 7, seqs: {} });
    const landed = { from: 0, seqs: { [me]: 1 } };
    expect(landedOf({ ...INITIAL_REPLICA_STATE, baseHeight: 7, landed })).toBe(landed);
  });
});

describe('landed plans: formats', () => {
  const clientId = crypto.randomUUID();
  const place: VersionPlace = {
    clientId,
    versionId: crypto.randomUUID(),
    parentVersionId: crypto.randomUUID(),
    height: 3,
  };
  const ops = [{ type: 'create' as const, collection: 'c', id: 'x' }];

  it('a segment carries its author; one without (an earlier release) decodes with none', async () => {
    const author = { replicaId: me, firstSeq: 12 };
    const [withAuthor, without] = await decodeSegments({ key: null }, [
      { place, bytes: await encodeSegment({ key: null }, place, ops, author) },
      { place, bytes: await encodeSegment({ key: null }, place, ops) },
    ]);
    expect(withAuthor).toEqual({ ops, author });
    expect(without).toEqual({ ops, author: null });
  });

  it('a segment whose author is malformed is CHAIN_INTEGRITY', async () => {
    const aad = `chainsync/v1/segment/${clientId}/${place.versionId}/${place.parentVersionId}`;
    const body = { v: 1, c: clientId, id: place.versionId, p: place.parentVersionId, h: 3, ops: [] };
    for (const bad of [{ r: 'me', s: 1 }, { r: me, s: 0 }, { r: me }, { s: 4 }]) {
      const bytes = await wrap({ key: null }, utf8(JSON.stringify({ ...body, ...bad })), aad);
      await rejectsWith(decodeSegments({ key: null }, [{ place, bytes }]), 'CHAIN_INTEGRITY');
    }
  });

  const versionId = crypto.randomUUID();
  const snapshotAad = `chainsync/v1/snapshot/${clientId}/${versionId}`;
  const oldBody = { v: 1, c: clientId, id: versionId, h: 9, objects: [['c', 'x', { n: 1 }]] };

  it('a snapshot written before the record existed still reads, as a record complete only above it', async () => {
    const bytes = await wrap({ key: null }, utf8(JSON.stringify(oldBody)), snapshotAad);
    expect(await decodeSnapshot({ key: null }, clientId, versionId, bytes)).toEqual({
      versionId,
      height: 9,
      objects: [{ collection: 'c', id: 'x', properties: { n: 1 } }],
      landed: { from: 9, seqs: {} },
    });
  });

  it('a snapshot carries the record; a malformed one is CHAIN_INTEGRITY', async () => {
    const landed = { from: 2, seqs: { [me]: 15, [other]: 3 } };
    const objects = [{ collection: 'c', id: 'x', properties: { n: 1 } }];
    const bytes = await encodeSnapshot({ key: null }, clientId, { versionId, height: 9, objects, landed });
    expect((await decodeSnapshot({ key: null }, clientId, versionId, bytes)).landed).toEqual(landed);
    for (const l of [
      null,
      { f: 10, s: {} }, // complete from above the snapshot itself
      { f: -1, s: {} },
      { f: 0, s: [] },
      { f: 0, s: { 'not-a-uuid': 1 } },
      { f: 0, s: { [me]: 0 } },
      { f: 0, s: { [me]: 1.5 } },
    ]) {
      const forged = await wrap({ key: null }, utf8(JSON.stringify({ ...oldBody, l })), snapshotAad);
      await rejectsWith(decodeSnapshot({ key: null }, clientId, versionId, forged), 'CHAIN_INTEGRITY');
    }
  });
});
