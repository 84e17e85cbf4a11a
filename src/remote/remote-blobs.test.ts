import { describe, expect, it } from 'vitest';
import { utf8 } from '../core/bytes.js';
import { contentIdOf } from '../core/content-id.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { RemoteBlobs } from './remote-blobs.js';

async function rejection(promise: Promise<unknown>): Promise<{ code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('RemoteBlobs', () => {
  it('stores by content id, dedups, and reads back the same bytes', async () => {
    const backend = new MemoryRemoteBackend();
    const blobs = new RemoteBlobs(backend, { prefix: 'blobs' });
    const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const id = await blobs.put(data);
    expect(id).toBe(await contentIdOf(data));
    expect(await backend.list('blobs/')).toEqual([`blobs/${id}`]);
    const version = await backend.objectVersion(`blobs/${id}`);
    expect(await blobs.put(data, id)).toBe(id);
    expect(await backend.objectVersion(`blobs/${id}`)).toBe(version); // not uploaded again
    expect(await blobs.get(id)).toEqual(data);
    expect(await blobs.has(id)).toBe(true);
  });

  it('refuses data that does not hash to the given id, uploading nothing', async () => {
    const backend = new MemoryRemoteBackend();
    const blobs = new RemoteBlobs(backend, { prefix: 'blobs' });
    const wrong = await contentIdOf(utf8('other'));
    expect((await rejection(blobs.put(utf8('data'), wrong))).code).toBe('CONTENT_MISMATCH');
    expect(await backend.list('blobs/')).toEqual([]);
  });

  it('reports absent content and a corrupted download with typed errors', async () => {
    const backend = new MemoryRemoteBackend();
    const blobs = new RemoteBlobs(backend, { prefix: 'blobs' });
    const id = await contentIdOf(utf8('hello'));
    expect(await blobs.has(id)).toBe(false);
    expect((await rejection(blobs.get(id))).code).toBe('CONTENT_NOT_FOUND');
    await backend.upload(`blobs/${id}`, utf8('hellO'));
    expect((await rejection(blobs.get(id))).code).toBe('CONTENT_MISMATCH');
  });

  it('rejects bad content ids and data with INVALID_ARGUMENT', async () => {
    const blobs = new RemoteBlobs(new MemoryRemoteBackend(), { prefix: 'blobs' });
    expect((await rejection(blobs.get('../etc'))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(blobs.put('text' as unknown as Uint8Array))).code).toBe('INVALID_ARGUMENT');
  });

  it('uploads every blob exactly once through applied-then-dropped faults', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend(), {
      seed: 7,
      appliedThenDropped: 0.4,
      failBeforeApply: 0.1,
      readFailure: 0.1,
    });
    const blobs = new RemoteBlobs(backend, { prefix: 'blobs', retry: { delayMs: 0 } });
    const ids = [];
    for (let i = 0; i < 30; i++) ids.push(await blobs.put(utf8(`blob ${i}`)));
    expect(backend.injected.appliedThenDropped).toBeGreaterThan(3);
    backend.enabled = false;
    for (const [i, id] of ids.entries()) expect(await blobs.get(id)).toEqual(utf8(`blob ${i}`));
  });
});
