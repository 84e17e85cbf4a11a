/**
 * What HttpRemoteBackend reports as a surprise (an answer contradicting a passed probe), and what it
 * does not: a lost race, refused credentials, "not now".
 */
import { describe, expect, it } from 'vitest';
import { MAX_OBJECT_BYTES_HEADER } from '../../contracts/remote-backend.js';
import { HttpRemoteBackend } from './http-backend.js';
import type { ServerSurprise } from './options.js';

const data = new Uint8Array([1]);

/** A backend whose server answers every request with `answer()`, and the surprises it reported. */
function backendAnswering(answer: () => Response, probedMaxObjectBytes: number | null = 1000) {
  const surprises: ServerSurprise['kind'][] = [];
  const backend = new HttpRemoteBackend({
    baseUrl: 'https://surprise.test/store',
    fetch: () => Promise.resolve(answer()),
    readRetry: { retries: 0 },
    probedMaxObjectBytes,
    onSurprise: (s) => surprises.push(s.kind),
  });
  return { backend, surprises };
}

const stating = (bytes: number, init: ResponseInit = {}) =>
  new Response(null, { ...init, headers: { ...init.headers, [MAX_OBJECT_BYTES_HEADER]: String(bytes) } });

describe('surprises', () => {
  it('a successful PUT without an ETag, or with a weak one: etag-on-put', async () => {
    for (const headers of [{}, { ETag: 'W/"1"' }] as Record<string, string>[]) {
      const { backend, surprises } = backendAnswering(() => new Response(null, { status: 200, headers }));
      await expect(backend.uploadConditional('k', data, { ifAbsent: true })).rejects.toThrow();
      expect(surprises).toEqual(['etag-on-put']);
    }
  });

  it('a read of a present object without a strong ETag: strong-etags', async () => {
    const { backend, surprises } = backendAnswering(() => new Response('x', { status: 200 }));
    await expect(backend.downloadVersioned('k')).rejects.toThrow();
    expect(surprises).toEqual(['strong-etags']);
  });

  it('a write answered 428: preconditions; answered 413: max-object-bytes', async () => {
    const refused = backendAnswering(() => new Response(null, { status: 428 }));
    await expect(refused.backend.upload('k', data)).rejects.toThrow();
    expect(refused.surprises).toEqual(['preconditions']);
    const tooLarge = backendAnswering(() => new Response(null, { status: 413 }));
    await expect(tooLarge.backend.upload('k', data)).rejects.toThrow();
    expect(tooLarge.surprises).toEqual(['max-object-bytes']);
  });

  it('a reply stating another largest object than the probe read: max-object-bytes', async () => {
    const same = backendAnswering(() => stating(1000, { status: 200, headers: { ETag: '"1"' } }));
    await same.backend.uploadConditional('k', data, { ifAbsent: true });
    expect(same.surprises).toEqual([]);
    const other = backendAnswering(() => stating(500, { status: 200, headers: { ETag: '"1"' } }));
    await other.backend.uploadConditional('k', data, { ifAbsent: true });
    expect(other.surprises).toEqual(['max-object-bytes']);
  });

  it('no surprise: a lost race (412), refused credentials (401), "not now" (503), a reply stating nothing', async () => {
    for (const status of [412, 401, 503]) {
      const { backend, surprises } = backendAnswering(() => new Response(null, { status }));
      await expect(backend.uploadConditional('k', data, { ifAbsent: true })).rejects.toThrow();
      expect(surprises).toEqual([]);
    }
    const silent = backendAnswering(() => new Response(null, { status: 200, headers: { ETag: '"1"' } }));
    await silent.backend.uploadConditional('k', data, { ifAbsent: true });
    expect(silent.surprises).toEqual([]);
  });
});
