import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
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

  it('rejects a bad prefix with INVALID_ARGUMENT', () => {
    expect(() => new RemoteCasKv(new MemoryRemoteBackend(), { prefix: 'a/./b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
