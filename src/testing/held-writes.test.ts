import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from './faulty-backend.js';
import { holdingFetch } from './held-writes.js';
import { createObjectServer, inProcessFetch } from './msw/index.js';

describe('writes held past the client’s timeout', () => {
  it('FaultyBackend: the write times out, the read-back finds nothing, then the write is stored', async () => {
    const inner = new MemoryRemoteBackend();
    const backend = new FaultyBackend(inner);
    const v1 = await backend.uploadConditional('k', utf8('one'), { ifAbsent: true });
    const hold = backend.holds.hold();
    await expect(backend.uploadConditional('k', utf8('two'), { ifVersion: v1 })).rejects.toMatchObject({
      code: 'REMOTE_INDETERMINATE',
    });
    expect(hold.write).toEqual({ method: 'PUT', key: 'k', conditional: true });
    expect(fromUtf8((await inner.download('k'))!)).toBe('one');
    // The read-back is answered from before the write; the write lands before the answer arrives.
    const readBack = await backend.downloadVersioned('k');
    expect(fromUtf8(readBack!.data)).toBe('one');
    expect(hold.landed).toBe(true);
    expect(fromUtf8((await inner.download('k'))!)).toBe('two');
    // Its retry is refused: the condition no longer holds.
    await expect(backend.uploadConditional('k', utf8('two'), { ifVersion: v1 })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
  });

  it('lets `skip` matching writes through, holds only what `match` takes, and lands manually', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend());
    const hold = backend.holds.hold({ skip: 1, lands: 'manual' });
    await backend.upload('plain', utf8('not conditional'));
    await backend.uploadConditional('a', utf8('a'), { ifAbsent: true });
    await expect(backend.uploadConditional('b', utf8('b'), { ifAbsent: true })).rejects.toMatchObject({
      code: 'REMOTE_INDETERMINATE',
    });
    expect(hold.write?.key).toBe('b');
    expect(await backend.download('b')).toBeNull();
    expect(hold.landed).toBe(false);
    await hold.land();
    expect(fromUtf8((await backend.download('b'))!)).toBe('b');
    // Released unused: disarmed, nothing held later.
    const unused = backend.holds.hold();
    await unused.release();
    await backend.uploadConditional('c', utf8('c'), { ifAbsent: true });
    expect(unused.write).toBeNull();
  });

  it('holdingFetch: the request is sent later exactly as it was, after a read-back of its URL', async () => {
    const server = createObjectServer({ baseUrl: 'https://held.test/store' });
    const { fetch, holds } = holdingFetch(inProcessFetch(server.handlers));
    const url = `${server.baseUrl}/dir/k%20ey`;
    const hold = holds.hold();
    await expect(
      fetch(url, { method: 'PUT', headers: { 'If-None-Match': '*' }, body: 'late' }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(hold.write).toEqual({ method: 'PUT', key: '/store/dir/k ey', conditional: true });
    expect((await fetch(url, { method: 'GET' })).status).toBe(404);
    expect(hold.landed).toBe(true);
    const stored = await fetch(url, { method: 'GET' });
    expect(await stored.text()).toBe('late');
    expect(server.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });
});
