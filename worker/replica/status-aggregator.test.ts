/**
 * The transport in the status: the leader's own (its watcher tells it) reaches its main thread and
 * every other tab through its broadcast; a follower shows what the leader said.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaEvent, ReplicaStatus, StorageUse } from '../../src/contracts/replica.js';
import { ManualClock, settle } from '../../src/test-support/manual-clock.js';
import { EMPTY_SYNC_RESULT } from '../../src/test-support/sync-result.js';
import type { ReplicaChannel, ChannelMessage } from './replica-channel.js';
import { STORAGE_REFRESH_MS, StatusAggregator } from './status-aggregator.js';

function aggregator(leader: boolean) {
  const emitted: ReplicaEvent[] = [];
  const posted: ChannelMessage[] = [];
  const channel = { post: (m: ChannelMessage) => posted.push(m) } as unknown as ReplicaChannel;
  const clock = new ManualClock();
  /** What the fake Storage API reports next, and how many times it was asked. */
  const disk: { use: StorageUse | null; reads: number } = { use: null, reads: 0 };
  const status = new StatusAggregator({
    countPending: () => Promise.resolve(0),
    channel,
    isLeader: () => leader,
    emit: (e) => emitted.push(e),
    estimateStorage: () => {
      disk.reads++;
      return Promise.resolve(disk.use);
    },
    timers: clock,
  });
  const statuses = () => emitted.flatMap((e) => (e.type === 'status' ? [e.status] : []));
  return { status, statuses, posted, clock, disk };
}

describe('StatusAggregator: transport', () => {
  it('starts off, and the leader tells its main thread and the other tabs when its watcher changes transport', () => {
    const { status, statuses, posted } = aggregator(true);
    expect(status.current().transport).toBe('off');
    status.transportChanged('signal');
    expect(statuses().at(-1)?.transport).toBe('signal');
    expect(posted.at(-1)).toMatchObject({ kind: 'status', status: { transport: 'signal', leader: true } });
    status.transportChanged('signal'); // no change, nothing told
    expect(statuses()).toHaveLength(1);
    status.transportChanged('offline');
    expect(statuses().map((s) => s.transport)).toEqual(['signal', 'offline']);
  });

  it('a follower shows the transport its leader said (off when an older leader says none)', () => {
    const leader = aggregator(true);
    leader.status.transportChanged('polling');
    const said = leader.posted.at(-1) as { status: ReplicaStatus };
    const follower = aggregator(false);
    follower.status.leaderSaid(said.status);
    expect(follower.status.current()).toMatchObject({ transport: 'polling', leader: false });
    const { transport: _none, ...older } = said.status;
    follower.status.leaderSaid(older as ReplicaStatus);
    expect(follower.status.current().transport).toBe('off');
  });
});

describe('StatusAggregator: storage use', () => {
  const use = (usage: number): StorageUse => ({ usage, quota: 300_000_000, persisted: false });

  it('is read when the replica opens, and null where the browser cannot tell', async () => {
    const { status, disk } = aggregator(true);
    expect(status.current().storage).toBeNull(); // not read yet
    disk.use = use(1_200_000);
    await status.measureStorage();
    expect(status.current().storage).toEqual(use(1_200_000));
    disk.use = null; // the Storage API is missing (or failed)
    await status.measureStorage();
    expect(status.current().storage).toBeNull();
  });

  it('is read again after changes at most once per interval, and told when it changed', async () => {
    const { status, statuses, disk, clock } = aggregator(true);
    disk.use = use(1_000);
    await status.measureStorage();
    expect(disk.reads).toBe(1);
    // A burst of writes right after: one reading, once the interval since the last one is over.
    disk.use = use(2_000);
    for (let i = 0; i < 50; i++) status.storageMayHaveChanged();
    await clock.advance(STORAGE_REFRESH_MS - 1);
    expect(disk.reads).toBe(1);
    expect(status.current().storage).toEqual(use(1_000));
    await clock.advance(1);
    expect(disk.reads).toBe(2);
    expect(statuses().at(-1)?.storage).toEqual(use(2_000));
    // Long after the last reading, a change reads at once; an unchanged reading tells nobody.
    await clock.advance(10 * STORAGE_REFRESH_MS);
    const told = statuses().length;
    status.storageMayHaveChanged();
    await settle();
    expect(disk.reads).toBe(3);
    expect(statuses()).toHaveLength(told);
  });

  it('is read after a sync (succeeded or failed), and no more once stopped', async () => {
    const { status, statuses, disk, clock } = aggregator(true);
    await status.measureStorage();
    await clock.advance(STORAGE_REFRESH_MS);
    disk.use = use(5_000);
    status.syncFailed(new Error('offline'));
    await settle();
    expect(statuses().at(-1)?.storage).toEqual(use(5_000));
    disk.use = use(9_000);
    status.syncSucceeded({ ...EMPTY_SYNC_RESULT, pulledVersions: 1 });
    status.stop(); // the replica closed before the throttled reading was due
    await clock.advance(STORAGE_REFRESH_MS);
    expect(disk.reads).toBe(2);
    expect(statuses().every((s) => s.storage?.usage !== 9_000)).toBe(true);
  });
});

describe('StatusAggregator: the data set on the server', () => {
  it('starts null; the leader tells what it listed, and a follower shows it (null from an older leader)', async () => {
    const leader = aggregator(true);
    expect(leader.status.current().remote).toBeNull();
    const use = { retained: { from: 90, to: 120 }, objects: 75, bytes: 40_960, at: 1_700_000_000_000 };
    leader.status.remoteMeasured(use);
    await settle();
    expect(leader.statuses().at(-1)?.remote).toEqual(use);
    const said = leader.posted.at(-1) as { status: ReplicaStatus };
    expect(said.status.remote).toEqual(use);
    const follower = aggregator(false);
    follower.status.leaderSaid(said.status);
    expect(follower.status.current().remote).toEqual(use);
    const { remote: _none, ...older } = said.status;
    follower.status.leaderSaid(older as ReplicaStatus);
    expect(follower.status.current().remote).toBeNull();
  });
});
