import { describe, expect, it } from 'vitest';
import { LeaderElection } from './leader.js';
import { holdPidLock, livePids } from './pid-lock.js';

describe('LeaderElection (in a window)', () => {
  it('one candidate leads; resigning hands leadership to the next', async () => {
    const name = `window-${crypto.randomUUID()}`;
    const first = new LeaderElection(name);
    await first.whenLeader();
    const second = new LeaderElection(name);
    await new Promise((r) => setTimeout(r, 50));
    expect([first.isLeader, second.isLeader]).toEqual([true, false]);
    first.resign();
    await second.whenLeader();
    expect([first.isLeader, second.isLeader]).toEqual([false, true]);
    second.resign();
  });

  it('a candidate that withdraws before winning never leads', async () => {
    const name = `withdraw-${crypto.randomUUID()}`;
    const leader = new LeaderElection(name);
    await leader.whenLeader();
    const quitter = new LeaderElection(name);
    const third = new LeaderElection(name);
    quitter.resign();
    leader.resign();
    await third.whenLeader();
    expect(quitter.isLeader).toBe(false);
    third.resign();
  });
});

describe('pid locks', () => {
  it('a held pid is live until released, and cannot be held twice', async () => {
    const pid = crypto.randomUUID();
    const lock = await holdPidLock(pid);
    expect((await livePids()).has(pid)).toBe(true);
    await expect(holdPidLock(pid)).rejects.toThrow(/already held/);
    lock.release();
    await new Promise((r) => setTimeout(r, 20));
    expect((await livePids()).has(pid)).toBe(false);
  });
});
