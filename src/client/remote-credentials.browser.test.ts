/**
 * Credentials and token functions with a worker-hosted replica, in every browser engine: the function cannot be
 * cloned into the worker, so it stays on the main thread and the worker calls it back there. The
 * HTTP case syncs through the reference server with a token function; the S3 case shows its
 * credentials function is the one called (its failure reaches the app as REMOTE_CREDENTIALS, as
 * nothing was sent: the reference server cannot answer S3's signed headers cross-origin).
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { RemoteCredentialsError } from '../contracts/errors.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { openReplica, type ReplicaClient } from './open-replica.js';

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

// Syncs only when asked.
const manual = { syncOnStart: false, intervalMs: 0, debounceMs: 3_600_000, backoffBaseMs: 3_600_000 };

describe('a remote whose credentials come from a function on the main thread', () => {
  it('HTTP: the worker calls the token function here, and two replicas sync with it', async () => {
    const clientId = crypto.randomUUID();
    const prefix = `token-fn-${clientId}`;
    let calls = 0;
    const token = () => {
      calls++;
      return { token: `session-${calls}`, expiration: new Date(Date.now() + 3_600_000) };
    };
    const remote = { kind: 'http', url: serverUrl, prefix, token } as const;
    const a = await openReplica({ name: `token-a-${clientId}`, clientId, remote, schedule: manual });
    opened.push(a);
    await a.create('notes', 'n1', { text: 'hello' });
    await a.sync();
    // One call for the whole sync (probe included): the token is kept until shortly before expiry.
    expect(calls).toBe(1);
    const b = await openReplica({ name: `token-b-${clientId}`, clientId, remote, schedule: manual });
    opened.push(b);
    await b.sync();
    expect(await b.get('notes', 'n1')).toEqual({ text: 'hello' });
    expect(calls).toBe(2);
  }, 60_000);

  it('HTTP: a token function that throws fails the sync with REMOTE_CREDENTIALS naming remote.token', async () => {
    const clientId = crypto.randomUUID();
    const token = () => Promise.reject(new Error('signed out'));
    const remote = { kind: 'http', url: serverUrl, prefix: `token-fail-${clientId}`, token } as const;
    const r = await openReplica({ name: `token-fail-${clientId}`, clientId, remote, schedule: manual });
    opened.push(r);
    await r.create('notes', 'n1', { text: 'kept' });
    const error = await rejectsWith<RemoteCredentialsError>(r.sync(), 'REMOTE_CREDENTIALS');
    expect(error).toBeInstanceOf(RemoteCredentialsError);
    expect(error.setting).toBe('remote.token');
    expect(error.message).toContain('signed out');
    expect(await r.get('notes', 'n1')).toEqual({ text: 'kept' });
  }, 60_000);

  it('S3: the worker calls the credentials function here', async () => {
    const clientId = crypto.randomUUID();
    let calls = 0;
    const credentials = () => {
      calls++;
      return Promise.reject(new Error('no session for this user'));
    };
    const remote = {
      kind: 's3',
      endpoint: serverUrl,
      bucket: 'bucket',
      region: 'auto',
      credentials,
      prefix: `s3-fn-${clientId}`,
    } as const;
    const r = await openReplica({ name: `s3-fn-${clientId}`, clientId, remote, schedule: manual });
    opened.push(r);
    const error = await rejectsWith<RemoteCredentialsError>(r.sync(), 'REMOTE_CREDENTIALS');
    expect(error.setting).toBe('remote.credentials');
    expect(error.message).toContain('no session for this user');
    expect(calls).toBeGreaterThan(0);
  }, 60_000);
});
