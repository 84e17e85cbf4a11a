/**
 * A bearer token function (`remote.token` as a function) on the in-process object server behind a
 * gate that answers 401 to tokens it revoked: the token is renewed and the refused request sent once
 * more, concurrent refusals share one renewal, and a failing function sends nothing.
 */
import { http, HttpResponse } from 'msw';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RemoteCredentialsError } from '../../contracts/errors.js';
import { b, rejectsWith, s } from '../../testing/conformance/support.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { bearerFetch, type BearerTokenProvider } from './bearer-fetch.js';
import { HttpRemoteBackend } from './http-backend.js';

const revoked = new Set<string>();
const seen: Array<{ method: string; auth: string | null; refused: boolean }> = [];
const objects = createObjectServer({ baseUrl: 'https://objects.test/space' });
const gate = http.all('https://objects.test/*', ({ request }) => {
  const auth = request.headers.get('Authorization');
  const refused = auth === null || revoked.has(auth);
  seen.push({ method: request.method, auth, refused });
  return refused ? new HttpResponse('token expired', { status: 401 }) : undefined;
});
const send = inProcessFetch([gate, ...objects.handlers]);

let calls = 0;
const issue: BearerTokenProvider = () => `t${++calls}`;

beforeEach(() => {
  objects.reset();
  revoked.clear();
  seen.length = 0;
  calls = 0;
});

const backend = (provider: BearerTokenProvider = issue) =>
  new HttpRemoteBackend({
    baseUrl: `${objects.baseUrl}/${crypto.randomUUID()}`,
    fetch: bearerFetch(provider, { fetch: send }),
    readRetry: { retries: 0 },
  });

describe('bearerFetch', () => {
  it('renews a token refused with 401 and sends the compare-and-swap once more, applied once', async () => {
    const store = backend();
    const first = await store.uploadConditional('k', b('one'), { ifAbsent: true });
    revoked.add('Bearer t1');
    await store.uploadConditional('k', b('two'), { ifVersion: first });
    expect(s(await store.download('k'))).toBe('two');
    expect(seen.map((r) => [r.method, r.auth, r.refused])).toEqual([
      ['PUT', 'Bearer t1', false],
      ['PUT', 'Bearer t1', true],
      ['PUT', 'Bearer t2', false],
      ['GET', 'Bearer t2', false],
    ]);
  });

  it('requests refused together share one renewal', async () => {
    const store = backend();
    await store.upload('k', b('v'));
    revoked.add('Bearer t1');
    const read = await Promise.all([1, 2, 3].map(() => store.download('k')));
    expect(read.map(s)).toEqual(['v', 'v', 'v']);
    expect(calls).toBe(2);
  });

  it('a token function that throws fails a write with REMOTE_CREDENTIALS naming remote.token, sending nothing', async () => {
    const store = backend(() => {
      throw new Error('signed out');
    });
    const error = await rejectsWith<RemoteCredentialsError>(store.upload('k', b('v')), 'REMOTE_CREDENTIALS');
    expect(error.setting).toBe('remote.token');
    expect(error.message).toContain('signed out');
    expect(seen).toEqual([]);
  });
});
