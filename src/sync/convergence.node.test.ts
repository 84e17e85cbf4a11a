/**
 * The convergence property: 3 to 5 replicas make random changes, go offline, sync in random
 * orders through a server that fails at random (determinately, or applying a write and then
 * reporting an indeterminate error). After faults stop and everyone syncs, all replicas hold
 * identical data, equal to the fold of the chain, and every operation a replica accepted is in the
 * chain exactly once or was discarded by a conflict rule (reported to that replica) — never lost,
 * never duplicated. The server also prunes its history at random, as compaction does, including
 * while a replica's push is in flight: whether it landed is then known only from the snapshot's
 * record of landed plans, and the counts below check that it is applied exactly once.
 *
 * CHAINSYNC_PROPERTY_RUNS sets the number of schedules (default 200, the CI run).
 */
import type { Operation, Properties, SyncResult } from '../contracts/replica.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, NotFoundError, RemoteError } from '../contracts/errors.js';
import { MemoryCasKv } from '../memory/memory-cas-kv.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { objectKey } from '../core/operations.js';
import { Replica } from './replica.js';
import type { ReplicaWrite } from '../contracts/replica-store.js';
import { NIL_UUID, type Version } from '../contracts/storage.js';
import { decodeSegment } from './segments.js';
import { ControllableStorage, FaultyStorage } from '../test-support/controlled-storage.js';
import { applyOperation } from './working-set.js';
import { deriveKey } from './sealing.js';

const RUNS = Number(process.env.CHAINSYNC_PROPERTY_RUNS ?? 200);

type Fault = 'none' | 'fail-before' | 'fail-after';

type Action =
  | { kind: 'create'; r: number; id: number }
  | { kind: 'update'; r: number; id: number; property: string; remove: boolean }
  | { kind: 'delete'; r: number; id: number }
  | { kind: 'sync'; r: number; faults: Fault[]; avoidSnapshots: boolean }
  | { kind: 'offline'; r: number }
  | { kind: 'prune' }
  | { kind: 'tick'; by: number };

const replicaIndex = fc.nat({ max: 4 });
const objectIndex = fc.nat({ max: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('create' as const), r: replicaIndex, id: objectIndex }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      r: replicaIndex,
      id: objectIndex,
      property: fc.constantFrom('a', 'b', 'c'),
      remove: fc.nat({ max: 9 }).map((n) => n === 0),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), r: replicaIndex, id: objectIndex }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      r: replicaIndex,
      faults: fc.array(fc.constantFrom<Fault>('none', 'none', 'none', 'fail-before', 'fail-after'), {
        maxLength: 6,
      }),
      avoidSnapshots: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('offline' as const), r: replicaIndex }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), by: fc.nat({ max: 2 }) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'prune' as const }) },
);

class RecordingStore extends MemoryReplicaStore {
  readonly accepted: Operation[] = [];
  override async commit(write: ReplicaWrite): Promise<void> {
    await super.commit(write);
    for (const p of write.appendPending ?? []) this.accepted.push(p.op);
  }
}

interface Node {
  replica: Replica;
  store: RecordingStore;
  faults: Fault[];
  offline: boolean;
  dropped: Operation[];
}

async function run(
  replicaCount: number,
  actions: Action[],
  encrypted: boolean,
  maxOps: number,
): Promise<{ prunes: number; prunesInFlight: number; prunedLanded: number; recoveries: number }> {
  const server = new ControllableStorage();
  const kv = new MemoryCasKv();
  const clientId = crypto.randomUUID();
  let now = 1_000;
  let unique = 0;
  let prunes = 0;
  let prunesInFlight = 0;
  /** Prunes that deleted a version of a push still in flight: only the record can tell it landed. */
  let prunedLanded = 0;
  let recoveries = 0;
  const count = (r: SyncResult) => (recoveries += r.reset === 'recovered' ? 1 : 0);
  const nodes: Node[] = [];
  for (let r = 0; r < replicaCount; r++) {
    const store = new RecordingStore();
    const node: Node = { replica: null as never, store, faults: [], offline: false, dropped: [] };
    const storage = new FaultyStorage(server, (call) => {
      if (node.offline) return 'fail-before';
      const f = node.faults.shift() ?? 'none';
      return call === 'read' && f === 'fail-after' ? 'fail-before' : f;
    });
    node.replica = await Replica.open({
      store,
      storage,
      clientId,
      kv,
      clock: () => now,
      maxOperationsPerVersion: maxOps,
      pullPageSize: 3,
      snapshotPolicy: { versions: 2, days: 14 },
      ...(encrypted ? { secret: 'property', testOnlyPbkdf2Iterations: 100 } : {}),
    });
    node.replica.subscribe((e) => node.dropped.push(...e.dropped));
    nodes.push(node);
  }

  const expectOnly = async (p: Promise<unknown>, ...allowed: (abstract new (...a: never[]) => Error)[]) => {
    try {
      await p;
    } catch (error) {
      if (!allowed.some((cls) => error instanceof cls)) throw error;
    }
  };

  // Every version the server ever held, so the fold and the counts survive pruning.
  const history = new Map<string, Version>();
  const remember = () => server.chain().forEach((v) => history.set(v.versionId, v));

  for (const a of actions) {
    if (a.kind === 'tick') {
      now += a.by;
      continue;
    }
    if (a.kind === 'prune') {
      // The server drops every version up to its snapshot (compaction), whatever is in flight.
      if (server.client?.snapshot) {
        const states = await Promise.all(nodes.map((n) => n.store.readState()));
        remember();
        const before = server.chain().map((v) => v.versionId);
        server.prune();
        const kept = new Set(server.chain().map((v) => v.versionId));
        const pruned = new Set(before.filter((id) => !kept.has(id)));
        prunes++;
        if (states.some((st) => st.inFlight !== null)) prunesInFlight++;
        if (states.some((st) => st.inFlight?.versions.some((v) => pruned.has(v.versionId)))) prunedLanded++;
      }
      continue;
    }
    const node = nodes[a.r % replicaCount]!;
    const id = 'id' in a ? `o${a.id}` : '';
    switch (a.kind) {
      case 'create':
        await expectOnly(node.replica.create('c', id, { a: `v${++unique}` }), AlreadyExistsError);
        break;
      case 'update':
        await expectOnly(
          node.replica.update('c', id, { [a.property]: a.remove ? undefined : `v${++unique}` }),
          NotFoundError,
        );
        break;
      case 'delete':
        await node.replica.delete('c', id);
        break;
      case 'offline':
        node.offline = !node.offline;
        break;
      case 'sync':
        node.faults = [...a.faults];
        await expectOnly(node.replica.sync({ avoidSnapshots: a.avoidSnapshots }).then(count), RemoteError);
        node.faults = [];
        break;
    }
  }

  // Faults stop, everyone comes online and syncs twice (push everything, then pull everything).
  for (const node of nodes) {
    node.offline = false;
    node.faults = [];
  }
  for (let round = 0; round < 2; round++) for (const node of nodes) count(await node.replica.sync());

  // 1. identical data everywhere, nothing pending
  const lists = await Promise.all(nodes.map((n) => n.replica.list('c')));
  for (const node of nodes) expect(await node.replica.pendingCount()).toBe(0);
  for (const list of lists) expect(list).toEqual(lists[0]);

  // 2. the data is the fold of the chain
  const key = encrypted ? await chainKey(kv, clientId) : null;
  remember();
  const chain: Version[] = [];
  for (let v = history.get(server.client?.latestVersionId ?? ''); v; v = history.get(v.parentVersionId)) {
    chain.unshift(v);
  }
  expect(chain[0]?.parentVersionId ?? NIL_UUID).toBe(NIL_UUID);
  const chainOps: Operation[] = [];
  for (const [i, v] of chain.entries()) {
    chainOps.push(
      ...(await decodeSegment(
        { key },
        { clientId, versionId: v.versionId, parentVersionId: v.parentVersionId, height: i + 1 },
        v.historySegment,
      )),
    );
  }
  const fold = new Map<string, Properties | null>();
  for (const op of chainOps) fold.set(objectKey(op), applyOperation(fold.get(objectKey(op)) ?? null, op));
  const folded = [...fold.entries()]
    .filter(([, p]) => p !== null)
    .map(([k, properties]) => ({ ...(JSON.parse(k) as { 0: string; 1: string }), properties }))
    .map((o) => ({ collection: o[0], id: o[1], properties: o.properties }))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  expect(lists[0]).toEqual(folded);

  // 3. no accepted operation lost or duplicated
  const accepted = nodes.reduce((n, node) => n + node.store.accepted.length, 0);
  const dropped = nodes.reduce((n, node) => n + node.dropped.length, 0);
  expect(chainOps.length + dropped).toBe(accepted);
  const inChain = new Map<string, number>();
  for (const op of chainOps)
    if (op.type === 'update' && typeof op.value === 'string') bump(inChain, op.value);
  for (const node of nodes) {
    const droppedHere = new Map<string, number>();
    for (const op of node.dropped)
      if (op.type === 'update' && typeof op.value === 'string') bump(droppedHere, op.value);
    for (const op of node.store.accepted) {
      if (op.type !== 'update' || typeof op.value !== 'string') continue;
      expect([op.value, (inChain.get(op.value) ?? 0) + (droppedHere.get(op.value) ?? 0)]).toEqual([
        op.value,
        1,
      ]);
    }
  }
  return { prunes, prunesInFlight, prunedLanded, recoveries };
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

async function chainKey(kv: MemoryCasKv, clientId: string): Promise<CryptoKey> {
  const entry = await kv.get(`chainsync/encryption/${clientId}`);
  const record = JSON.parse(new TextDecoder().decode(entry!.value)) as { salt: string };
  const salt = Uint8Array.from(atob(record.salt), (c) => c.charCodeAt(0));
  return deriveKey('property', salt, 100);
}

describe('convergence property', () => {
  it(`${RUNS} random schedules: replicas converge to the chain's fold, no operation lost or duplicated`, async () => {
    let prunedSchedules = 0;
    let prunedInFlightSchedules = 0;
    let prunedLandedSchedules = 0;
    let recoveredSchedules = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: 5 }),
        fc.array(action, { minLength: 15, maxLength: 80, size: 'max' }),
        fc.boolean(),
        fc.integer({ min: 1, max: 4 }),
        async (replicas, actions, encrypted, maxOps) => {
          const { prunes, prunesInFlight, prunedLanded, recoveries } = await run(
            replicas,
            actions,
            encrypted,
            maxOps,
          );
          if (prunes > 0) prunedSchedules++;
          if (prunesInFlight > 0) prunedInFlightSchedules++;
          if (prunedLanded > 0) prunedLandedSchedules++;
          if (recoveries > 0) recoveredSchedules++;
        },
      ),
      {
        numRuns: RUNS,
        examples: [
          // found by a longer run: a push that landed unresolved, then a snapshot: not re-pushed
          [
            3,
            [
              { kind: 'create', r: 2, id: 0 },
              {
                kind: 'sync',
                r: 2,
                faults: ['none', 'none', 'fail-after', 'fail-before'],
                avoidSnapshots: false,
              },
              { kind: 'create', r: 0, id: 0 },
              { kind: 'update', r: 0, id: 0, property: 'a', remove: true },
            ],
            false,
            1,
          ],
          // issue 12: a push lands unresolved, another replica snapshots past it, the server
          // compacts it away; the pusher comes back and must not push it again
          [
            3,
            [
              { kind: 'create', r: 0, id: 0 },
              { kind: 'sync', r: 0, faults: [], avoidSnapshots: false },
              { kind: 'update', r: 0, id: 0, property: 'a', remove: false },
              {
                kind: 'sync',
                r: 0,
                faults: ['none', 'none', 'fail-after', 'fail-before'],
                avoidSnapshots: false,
              },
              { kind: 'sync', r: 1, faults: [], avoidSnapshots: false },
              { kind: 'update', r: 1, id: 0, property: 'b', remove: false },
              { kind: 'sync', r: 1, faults: [], avoidSnapshots: false },
              { kind: 'prune' },
            ],
            false,
            1,
          ],
        ],
      },
    );
    // the schedules must reach pruning (also with a push in flight) and recovery, or the property
    // says nothing about them
    expect(prunedSchedules).toBeGreaterThan(RUNS / 10);
    expect(prunedInFlightSchedules).toBeGreaterThan(RUNS / 50);
    expect(prunedLandedSchedules).toBeGreaterThan(0); // at least the example above
    expect(recoveredSchedules).toBeGreaterThan(RUNS / 50);
    console.warn(
      `${RUNS} schedules: ${prunedSchedules} pruned (${prunedInFlightSchedules} with a push in flight, ${prunedLandedSchedules} deleting a landed one), ${recoveredSchedules} with a recovery`,
    );
  }, 3_600_000);
});
