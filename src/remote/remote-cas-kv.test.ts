import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { RemoteCasKv } from './remote-cas-kv.js';

class CountingBackend extends MemoryRemoteBackend {
  reads = 0;
  override downloadVersioned(key: string) {
    this.reads++;
    return super.downloadVersioned(key);
  }
}

describe('RemoteCasKv', () => {
  it('writes from the version it last saw without reading first', async () => {
    const backend = new CountingBackend();
    const kv = new RemoteCasKv(backend, { prefix: 'kv' });
    let version = await kv.put('k', utf8('0'));
    const before = backend.reads;
    for (let i = 1; i <= 10; i++) version = await kv.update('k', utf8(String(i)), version);
    expect(backend.reads).toBe(before);
    expect(fromUtf8((await kv.get('k'))!.value)).toBe('10');
  });

  it('never trusts what it last saw to refuse or to overwrite another client’s write', async () => {
    const backend = new MemoryRemoteBackend();
    const mine = new RemoteCasKv(backend, { prefix: 'kv' });
    const theirs = new RemoteCasKv(backend, { prefix: 'kv' });
    const v1 = await mine.put('k', utf8('mine'));
    const v2 = await theirs.update('k', utf8('theirs'), v1);
    await expect(mine.update('k', utf8('stale'), v1)).rejects.toMatchObject({ code: 'REVISION_MISMATCH' });
    expect((await theirs.get('k'))?.version).toBe(v2);
    // Remembered "live", but the other client deleted it: create must succeed after a fresh read.
    await mine.get('k');
    expect(await theirs.delete('k')).toBe(true);
    const v3 = await mine.create('k', utf8('again'));
    expect((await theirs.get('k'))?.version).toBe(v3);
    // Remembered an older version: delete must still remove, and report, what is there now.
    await theirs.put('k', utf8('live'));
    expect(await mine.delete('k')).toBe(true);
    expect(await theirs.entry('k')).toBeNull();
  });

  it('an update that timed out and landed after the read-back returns its version, not REVISION_MISMATCH', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend());
    const kv = new RemoteCasKv(backend, { prefix: 'kv', retry: { delayMs: 0 } });
    const v1 = await kv.put('k', utf8('one'));
    const hold = backend.holds.hold();
    // Attempt 1 times out; the read-back finds v1; the write lands; attempt 2 gets 412.
    const v2 = await kv.update('k', utf8('two'), v1);
    expect(hold.landed).toBe(true);
    expect(await new RemoteCasKv(backend.inner, { prefix: 'kv' }).get('k')).toEqual({
      value: utf8('two'),
      version: v2,
    });
  });

  it('rejects a bad prefix with INVALID_ARGUMENT', () => {
    expect(() => new RemoteCasKv(new MemoryRemoteBackend(), { prefix: 'a/./b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
