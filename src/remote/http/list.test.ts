import { describe, expect, it } from 'vitest';
import { HttpRemoteBackend } from './http-backend.js';
import type { FetchLike } from './options.js';

/** An S3 ListObjectsV2 endpoint serving `keys` two per page, recording the queries it got. */
function s3Lister(keys: string[], queries: URLSearchParams[]): FetchLike {
  return async (url) => {
    const query = new URL(url).searchParams;
    queries.push(query);
    const start = Number(query.get('continuation-token') ?? 0);
    const page = keys.filter((k) => k.startsWith(query.get('prefix') ?? '')).slice(start, start + 2);
    const more = start + 2 < keys.filter((k) => k.startsWith(query.get('prefix') ?? '')).length;
    const escape = (k: string) => k.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name>` +
      page.map((k) => `<Contents><Key>${escape(k)}</Key><Size>1</Size></Contents>`).join('') +
      `<IsTruncated>${more}</IsTruncated>` +
      (more ? `<NextContinuationToken>${start + 2}</NextContinuationToken>` : '') +
      `</ListBucketResult>`;
    return new Response(xml, { status: 200, headers: { 'Content-Type': 'application/xml' } });
  };
}

describe('S3 ListObjectsV2 listing', () => {
  it('follows continuation tokens and decodes XML entities', async () => {
    const keys = ['p/a', 'p/b&c', "p/d'e", 'p/<f>', 'p/g', 'q/1'];
    const queries: URLSearchParams[] = [];
    const r = new HttpRemoteBackend({
      baseUrl: 'http://s3.test/bucket',
      list: 's3',
      fetch: s3Lister(keys, queries),
    });
    expect(await r.list!('p/')).toEqual(['p/<f>', 'p/a', 'p/b&c', "p/d'e", 'p/g']);
    expect(queries.map((q) => q.get('continuation-token'))).toEqual([null, '2', '4']);
    expect(queries.every((q) => q.get('list-type') === '2' && q.get('prefix') === 'p/')).toBe(true);
  });

  it('has no list method when no dialect is configured', () => {
    expect(new HttpRemoteBackend({ baseUrl: 'http://s3.test/bucket' }).list).toBeUndefined();
  });
});
