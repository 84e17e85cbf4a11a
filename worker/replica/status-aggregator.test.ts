/**
 * The transport in the status: the leader's own (its watcher tells it) reaches its main thread and
 * every other tab through its broadcast; a follower shows what the leader said.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaEvent, ReplicaStatus } from '../../src/contracts/replica.js';
import type { ReplicaChannel, ChannelMessage } from './replica-channel.js';
import { StatusAggregator } from './status-aggregator.js';

function aggregator(leader: boolean) {
  const emitted: ReplicaEvent[] = [];
  const posted: ChannelMessage[] = [];
  const channel = { post: (m: ChannelMessage) => posted.push(m) } as unknown as ReplicaChannel;
  const status = new StatusAggregator({
    countPending: () => Promise.resolve(0),
    channel,
    isLeader: () => leader,
    emit: (e) => emitted.push(e),
  });
  const statuses = () => emitted.flatMap((e) => (e.type === 'status' ? [e.status] : []));
  return { status, statuses, posted };
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
