/**
 * Credentials that expire, on a fake S3 (the msw object server behind a gate that checks each
 * request's session token): the token's expiration is judged on an injected clock, so no test
 * sleeps. Covers renewal before expiry, renewal and resend on `ExpiredToken`, which requests are
 * resent, one refresh shared by concurrent requests, and a failing credentials function.
 */
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RemoteCredentialsError } from '../../contracts/errors.js';
import type { Timers } from '../../core/timers.js';
import { MemoryReplicaStore } from '../../memory/memory-replica-store.js';
import { Replica } from '../../sync/replica.js';
import { b, rejectsWith, s } from '../../testing/conformance/support.js';
import { createObjectServer } from '../../testing/msw/index.js';
import { openRemote } from '../remote-config.js';
import { HttpRemoteBackend } from './http-backend.js';
import { s3Fetch, type S3TemporaryCredentials } from './s3-fetch.js';

const HOUR = 3_600_000;

/** A clock the test moves by hand. */
const clock = { t: Date.UTC(2026, 0, 1) };
const timers: Timers = {
  now: () => clock.t,
  setTimeout: () => {
    throw new Error('not used');
  },
  clearTimeout: () => undefined,
  random: () => 0.5,
};

/** The fake STS: hands out numbered session tokens valid for an hour of the test's clock. */
const issued = new Map<string, number>();
const revoked = new Set<string>();
let calls = 0;
function issue(): S3TemporaryCredentials {
  calls++;
  const sessionToken = `token-${calls}`;
  const expiration = clock.t + HOUR;
  issued.set(sessionToken, expiration);
  return {
    accessKeyId: `AKIA${calls}`,
    secretAccessKey: `secret-${calls}`,
    sessionToken,
    expiration: new Date(expiration),
  };
}

const s3Error = (status: number, code: string) =>
  new HttpResponse(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>refused</Message></Error>`,
    {
      status,
      headers: { 'Content-Type': 'application/xml' },
    },
  );

/** What the gate did with each request: the token it carried and whether it let it through. */
const seen: Array<{ method: string; token: string | null; refused: string | null }> = [];
/** Set to refuse every write with this code whatever the token (a permission problem). */
let refuseWritesWith: string | null = null;

const objects = createObjectServer({ baseUrl: 'http://s3.test/bucket', list: false });
// In front of the object server: answers like S3 when the token is unknown, expired or revoked,
// and falls through (returns nothing) when it is good.
const gate = http.all('http://s3.test/*', ({ request }) => {
  const token = request.headers.get('x-amz-security-token');
  const expiresAt = token === null ? undefined : issued.get(token);
  let refused: string | null = null;
  if (expiresAt === undefined) refused = 'InvalidAccessKeyId';
  else if (revoked.has(token!) || clock.t >= expiresAt) refused = 'ExpiredToken';
  else if (refuseWritesWith !== null && request.method !== 'GET' && request.method !== 'HEAD') {
    refused = refuseWritesWith;
  }
  seen.push({ method: request.method, token, refused });
  if (refused === 'ExpiredToken') return s3Error(400, refused);
  if (refused !== null) return s3Error(403, refused);
  return undefined;
});
const msw = setupServer(gate, ...objects.handlers);
beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterAll(() => msw.close());
beforeEach(() => {
  objects.reset();
  seen.length = 0;
  calls = 0;
  issued.clear();
  revoked.clear();
  refuseWritesWith = null;
});

function backend(provider: () => S3TemporaryCredentials | Promise<S3TemporaryCredentials> = issue) {
  return new HttpRemoteBackend({
    baseUrl: `${objects.baseUrl}/${crypto.randomUUID()}`,
    fetch: s3Fetch({ region: 'us-east-1', credentials: provider, timers }),
    readRetry: { retries: 0 },
  });
}

describe('s3Fetch with a credentials function', () => {
  it('asks for new credentials shortly before they expire, so the store never refuses one', async () => {
    const store = backend();
    await store.upload('a', b('one'));
    expect(calls).toBe(1);
    // 56 minutes in: inside the 5-minute margin before the hour is up.
    clock.t += 56 * 60_000;
    expect(s(await store.download('a'))).toBe('one');
    expect(calls).toBe(2);
    expect(seen.map((r) => [r.token, r.refused])).toEqual([
      ['token-1', null],
      ['token-2', null],
    ]);
  });

  it('on ExpiredToken, renews and sends a read once more', async () => {
    const store = backend();
    await store.upload('a', b('one'));
    revoked.add('token-1');
    expect(s(await store.download('a'))).toBe('one');
    expect(calls).toBe(2);
    expect(seen.map((r) => [r.method, r.token, r.refused])).toEqual([
      ['PUT', 'token-1', null],
      ['GET', 'token-1', 'ExpiredToken'],
      ['GET', 'token-2', null],
    ]);
  });

  it('on ExpiredToken, sends a compare-and-swap once more and it is applied exactly once', async () => {
    const store = backend();
    const first = await store.uploadConditional('a', b('one'), { ifAbsent: true });
    revoked.add('token-1');
    // The refused PUT was not applied (the version still matches), so the resent one succeeds.
    await store.uploadConditional('a', b('two'), { ifVersion: first });
    expect(s(await store.download('a'))).toBe('two');
    expect(seen.filter((r) => r.method === 'PUT').map((r) => [r.token, r.refused])).toEqual([
      ['token-1', null],
      ['token-1', 'ExpiredToken'],
      ['token-2', null],
    ]);
  });

  it('a write refused for another reason (AccessDenied) is not sent again, and the credentials are kept', async () => {
    const store = backend();
    refuseWritesWith = 'AccessDenied';
    await rejectsWith(store.upload('a', b('one')), 'UNAUTHORIZED');
    expect(seen).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('requests sent together after the margin share one renewal', async () => {
    const store = backend();
    await Promise.all(['a', 'b', 'c', 'd'].map((k) => store.upload(k, b(k))));
    clock.t += HOUR; // expired for the server; the client still holds them (its margin passed too)
    const read = await Promise.all(['a', 'b', 'c', 'd'].map((k) => store.download(k)));
    expect(read.map(s)).toEqual(['a', 'b', 'c', 'd']);
    expect(calls).toBe(2);
    expect(seen.filter((r) => r.refused !== null)).toEqual([]);
  });

  it('reads refused together by the store share one renewal', async () => {
    const store = backend();
    await Promise.all(['a', 'b', 'c', 'd'].map((k) => store.upload(k, b(k))));
    revoked.add('token-1');
    const read = await Promise.all(['a', 'b', 'c', 'd'].map((k) => store.download(k)));
    expect(read.map(s)).toEqual(['a', 'b', 'c', 'd']);
    expect(calls).toBe(2);
    expect(seen.filter((r) => r.refused === 'ExpiredToken')).toHaveLength(4);
    expect(seen.filter((r) => r.method === 'GET' && r.refused === null).map((r) => r.token)).toEqual([
      'token-2',
      'token-2',
      'token-2',
      'token-2',
    ]);
  });

  it('a failing credentials function fails a write with REMOTE_CREDENTIALS naming remote.credentials, sending nothing', async () => {
    const store = backend(() => Promise.reject(new Error('token service down')));
    const error = await rejectsWith<RemoteCredentialsError>(
      store.upload('a', b('one')),
      'REMOTE_CREDENTIALS',
    );
    expect(error).toBeInstanceOf(RemoteCredentialsError);
    expect(error.determinate).toBe(true);
    expect(error.setting).toBe('remote.credentials');
    expect(error.message).toContain('remote.credentials');
    expect(error.message).toContain('token service down');
    expect(seen).toEqual([]);
  });

  it('credentials without a secret fail with REMOTE_CREDENTIALS, and the next request asks again', async () => {
    let answer: unknown = { accessKeyId: 'AKIA' };
    const store = backend(() => answer as S3TemporaryCredentials);
    const error = await rejectsWith(store.download('a'), 'REMOTE_CREDENTIALS');
    expect(error.message).toContain('secretAccessKey');
    answer = issue();
    expect(await store.download('a')).toBeNull();
    expect(seen.map((r) => r.refused)).toEqual([null]);
  });
});

describe("openRemote({ kind: 's3', credentials })", () => {
  it('two replicas sync while their tokens are revoked between syncs', async () => {
    // openRemote compares expirations with the real clock: issue them on it (the store revokes).
    clock.t = Date.now();
    const clientId = crypto.randomUUID();
    const remote = {
      kind: 's3',
      endpoint: 'http://s3.test',
      bucket: 'bucket',
      region: 'us-east-1',
      credentials: issue,
      prefix: `set-${clientId}`,
    } as const;
    const device = () => {
      const { storage } = openRemote(remote);
      return Replica.open({ store: new MemoryReplicaStore(), storage, clientId });
    };
    const a = await device();
    const b2 = await device();
    await a.create('notes', '1', { text: 'before' });
    await a.sync();
    for (const token of issued.keys()) revoked.add(token);
    await b2.sync();
    await b2.update('notes', '1', { text: 'after' });
    await b2.sync();
    for (const token of issued.keys()) revoked.add(token);
    await a.sync();
    expect(await a.get('notes', '1')).toEqual({ text: 'after' });
    // Each replica's first request after the revocation was refused, then resent with a new token.
    expect(seen.filter((r) => r.refused === 'ExpiredToken').length).toBeGreaterThanOrEqual(2);
    expect(seen.filter((r) => r.refused !== null && r.refused !== 'ExpiredToken')).toEqual([]);
  });
});
