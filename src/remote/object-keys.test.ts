import { describe, expect, it } from 'vitest';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { utf8 } from '../core/bytes.js';
import { MAX_DIRECT_SEGMENT, decodeKeySegment, encodeKeyText, keySegment } from './object-keys.js';
import { RemoteCasKv } from './remote-cas-kv.js';
import { RemoteConsensus } from './remote-consensus.js';

const awkward = ['a/b', '.', '..', 'a b', '~', '~7e', '%2F', 'ü', '😀', 'x?y#z', 'CON', '\u0000', '-_'];

describe('object key encoding', () => {
  it('maps every key to one safe segment and back', async () => {
    for (const key of awkward) {
      const segment = await keySegment(key);
      expect(segment).toMatch(/^[A-Za-z0-9_~-]+$/);
      expect(segment).not.toMatch(/^\.{1,2}$/);
      expect(decodeKeySegment(segment)).toBe(key);
    }
    expect(new Set(await Promise.all(awkward.map(keySegment))).size).toBe(awkward.length);
  });

  it('is prefix-preserving, so LIST by an encoded prefix finds exactly those keys', () => {
    for (const a of awkward)
      for (const b of awkward) expect(encodeKeyText(a + b)).toBe(encodeKeyText(a) + encodeKeyText(b));
  });

  it('hashes keys whose encoding is too long, into a form no direct encoding takes', async () => {
    const long = '日本'.repeat(100); // 600 UTF-8 bytes: 1,800 characters encoded
    const segment = await keySegment(long);
    expect(segment.length).toBeLessThanOrEqual(MAX_DIRECT_SEGMENT);
    expect(segment.startsWith('~~')).toBe(true);
    expect(decodeKeySegment(segment)).toBeNull();
    expect(await keySegment('k'.repeat(1024))).not.toBe(await keySegment('k'.repeat(1023)));
  });
});

describe('remote stores with awkward and long keys', () => {
  it('CasKv keeps them apart and lists them by prefix, hashed ones included', async () => {
    const kv = new RemoteCasKv(new MemoryRemoteBackend(), { prefix: 'kv' });
    const long = 'p/' + 'é'.repeat(500);
    const keys = [...awkward, long, 'p/short'];
    for (const key of keys) await kv.put(key, utf8(key));
    for (const key of keys) expect(new TextDecoder().decode((await kv.get(key))!.value)).toBe(key);
    expect(await kv.keys()).toEqual([...keys].sort());
    expect(await kv.keys('p/')).toEqual([long, 'p/short'].sort());
    expect(await kv.keys('.')).toEqual(['.', '..']);
  });

  it('Consensus lists hashed keys by their real name', async () => {
    const consensus = new RemoteConsensus(new MemoryRemoteBackend(), { prefix: 'c' });
    const long = 'x'.repeat(1000);
    await consensus.compareAndSet(long, null, { seqno: 1n, data: utf8('a') });
    await consensus.compareAndSet('a/b', null, { seqno: 1n, data: utf8('b') });
    expect(await consensus.listKeys()).toEqual(['a/b', long]);
  });

  it('only the listing methods need LIST; without it they say so with UNSUPPORTED_SERVER', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend(), { withoutList: true });
    const kv = new RemoteCasKv(backend, { prefix: 'kv' });
    const v = await kv.put('a', utf8('1'));
    await kv.update('a', utf8('2'), v);
    expect(await kv.delete('a')).toBe(true);
    await expect(kv.keys()).rejects.toMatchObject({ code: 'UNSUPPORTED_SERVER', failed: ['list'] });
    await expect(kv.watch('', () => {})).rejects.toMatchObject({ code: 'UNSUPPORTED_SERVER' });
    const consensus = new RemoteConsensus(backend, { prefix: 'c' });
    expect(await consensus.compareAndSet('k', null, { seqno: 0n, data: utf8('x') })).toBe('Committed');
    expect((await consensus.scan('k', 0n)).length).toBe(1);
    await expect(consensus.listKeys()).rejects.toMatchObject({ code: 'UNSUPPORTED_SERVER' });
  });

  it('stores nested below another store’s prefix do not leak into its listing', async () => {
    const backend = new MemoryRemoteBackend();
    const outer = new RemoteCasKv(backend, { prefix: 'app' });
    const inner = new RemoteCasKv(backend, { prefix: 'app/k/x' });
    await inner.put('secret', utf8('1'));
    await outer.put('x', utf8('2'));
    expect(await outer.keys()).toEqual(['x']);
  });
});
