/**
 * HttpRemoteBackend.lastModified (remote blob GC's object ages, docs/compaction.md) against a
 * stub server: the HEAD's `Last-Modified` read as a time, `null` for an absent object, and
 * UNSUPPORTED_SERVER when the server states none — after which RemoteBlobs runs no collection
 * (saying why) and uploads as before.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../core/bytes.js';
import { contentIdOf } from '../../core/content-id.js';
import { rejectsWith } from '../../testing/conformance/support.js';
import { RemoteBlobs } from '../remote-blobs.js';
import { HttpRemoteBackend } from './http-backend.js';

const BASE = 'http://stub.test/bucket';
const MODIFIED = 'Wed, 02 Dec 2026 04:00:00 GMT';

/** A server holding `present` (key → bytes), sending `Last-Modified` only when `modified` is set. */
function stub(present: Map<string, Uint8Array>, modified: string | null) {
  const requests: string[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    requests.push(`${method} ${url.pathname}${url.search}`);
    if (url.searchParams.has('list')) {
      const prefix = url.searchParams.get('list') ?? '';
      const keys = [...present.keys()].filter((k) => k.startsWith(prefix)).sort();
      return new Response(JSON.stringify({ keys }), { status: 200 });
    }
    const key = decodeURIComponent(url.pathname.slice('/bucket/'.length));
    if (method === 'PUT') {
      present.set(key, new Uint8Array(await new Response(init?.body).arrayBuffer()));
      return new Response(null, { status: 201, headers: { ETag: '"v2"' } });
    }
    const data = present.get(key);
    if (!data) return new Response(null, { status: 404 });
    const headers: Record<string, string> = { ETag: '"v1"', 'Content-Length': String(data.length) };
    if (modified !== null) headers['Last-Modified'] = modified;
    return new Response(method === 'HEAD' ? null : (data as Uint8Array<ArrayBuffer>), {
      status: 200,
      headers,
    });
  };
  const backend = new HttpRemoteBackend({ baseUrl: BASE, fetch, list: 'json', readRetry: { retries: 0 } });
  return { backend, requests };
}

describe('HttpRemoteBackend.lastModified', () => {
  it("reads the HEAD's Last-Modified as milliseconds, and null for an absent object", async () => {
    const { backend } = stub(new Map([['blobs/a', utf8('a')]]), MODIFIED);
    expect(await backend.lastModified('blobs/a')).toBe(Date.parse(MODIFIED));
    expect(await backend.lastModified('blobs/b')).toBeNull();
  });

  it('refuses with UNSUPPORTED_SERVER when the server states no Last-Modified', async () => {
    const { backend } = stub(new Map([['blobs/a', utf8('a')]]), null);
    const error = await rejectsWith(backend.lastModified('blobs/a'), 'UNSUPPORTED_SERVER');
    expect(error.message).toMatch(/Last-Modified/);
  });

  it('without ages, RemoteBlobs collects nothing (saying why) and still uploads and dedups', async () => {
    const data = utf8('kept: its age cannot be told');
    const id = await contentIdOf(data);
    const present = new Map([[`blobs/${id}`, data]]);
    const { backend, requests } = stub(present, null);
    const blobs = new RemoteBlobs(backend, { prefix: 'blobs', now: () => Date.parse(MODIFIED) + 1e12 });
    expect(await blobs.put(data)).toBe(id); // found: relied on as before, not uploaded
    expect(requests.filter((r) => r.startsWith('PUT'))).toEqual([]);
    const report = await blobs.collectGarbage({ referenced: async () => new Set(), graceMs: 0 });
    expect(report).toEqual({ deleted: 0, more: false, unsupported: expect.stringMatching(/Last-Modified/) });
    expect(requests.filter((r) => r.startsWith('DELETE'))).toEqual([]);
    expect(present.has(`blobs/${id}`)).toBe(true);
  });
});
