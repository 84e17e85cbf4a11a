import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../contracts/errors.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { createObjectServer, inProcessFetch } from '../testing/msw/index.js';
import { connectRemote, forgetProbes } from './http/connect.js';
import {
  assertRemoteConfig,
  connectOptions,
  openRemote,
  type RemoteConfig,
  type S3FixedKeysConfig,
  type S3RemoteConfig,
} from './remote-config.js';
import { joinRemoteFunction, splitRemoteFunction } from './remote-functions.js';

const s3: S3RemoteConfig = {
  kind: 's3',
  endpoint: 'https://account.r2.cloudflarestorage.com',
  region: 'auto',
  bucket: 'my-bucket',
  accessKeyId: 'AKIAEXAMPLE',
  secretAccessKey: 'secret-example',
  prefix: 'alice/todos',
};

/** The InvalidArgumentError `run` throws (failing the test if it throws nothing or something else). */
function invalid(run: () => unknown): InvalidArgumentError {
  let thrown: unknown = null;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected an InvalidArgumentError').toBeInstanceOf(InvalidArgumentError);
  const error = thrown as InvalidArgumentError;
  expect(error.code).toBe('INVALID_ARGUMENT');
  return error;
}

describe('assertRemoteConfig', () => {
  it('accepts well-formed http and s3 configs', () => {
    expect(() =>
      assertRemoteConfig({ kind: 'http', url: 'https://sync.example.com/', prefix: 'p', token: 't' }),
    ).not.toThrow();
    expect(() => assertRemoteConfig(s3)).not.toThrow();
    const minimal = { ...s3, bucket: undefined, endpoint: 'https://b.s3.eu-west-1.amazonaws.com' };
    expect(() => assertRemoteConfig(minimal)).not.toThrow();
    expect(() =>
      assertRemoteConfig({ ...s3, region: 'eu-central-2', sessionToken: 'tok', timeoutMs: 5000 }),
    ).not.toThrow();
  });

  it.each([
    ['null', null],
    ['a string', 'https://sync.example.com'],
    ['an array', []],
  ])('rejects %s as the whole config, naming both shapes', (_, config) => {
    const error = invalid(() => assertRemoteConfig(config));
    expect(error.argument).toBe('remote');
    expect(error.message).toMatch(/kind: 'http'/);
    expect(error.message).toMatch(/kind: 's3'/);
  });

  it('rejects an unknown kind, naming the kinds there are', () => {
    const error = invalid(() => assertRemoteConfig({ ...s3, kind: 'r2' }));
    expect(error.argument).toBe('remote.kind');
    expect(error.message).toMatch(/'http'.*'s3'/);
    expect(error.message).toMatch(/"r2"/);
  });

  it('rejects unknown fields (a typo would otherwise be ignored silently)', () => {
    const error = invalid(() => assertRemoteConfig({ ...s3, secretKey: 'x' }));
    expect(error.argument).toBe('remote');
    expect(error.message).toMatch(/"secretKey"/);
    expect(error.message).toMatch(/secretAccessKey/);
    expect(invalid(() => assertRemoteConfig({ ...s3, url: 'https://x' })).message).toMatch(/"url"/);
    const http = { kind: 'http', url: 'https://x/', prefix: 'p', bucket: 'b' };
    expect(invalid(() => assertRemoteConfig(http)).message).toMatch(/"bucket"/);
  });

  const bad: [keyof S3RemoteConfig, unknown, RegExp][] = [
    ['endpoint', undefined, /absolute http\(s\) URL/],
    ['endpoint', 'not a url', /absolute http\(s\) URL/],
    ['endpoint', 'ftp://store.example.com', /http\(s\) URL/],
    ['endpoint', 'https://store.example.com/?x-id=1', /query or fragment/],
    ['endpoint', 'https://key:secret@store.example.com', /must not carry credentials/],
    ['region', undefined, /signing region/],
    ['region', '', /signing region/],
    ['region', 'US East', /signing region/],
    ['bucket', 'ab', /bucket name/],
    ['bucket', 'My_Bucket', /bucket name/],
    ['bucket', 'a/b', /bucket name/],
    ['bucket', 'a..b', /bucket name/],
    ['bucket', '192.168.0.1', /bucket name/],
    ['bucket', 'x'.repeat(64), /bucket name/],
    ['bucket', 42, /bucket name/],
    ['accessKeyId', undefined, /access key id/],
    ['accessKeyId', '', /access key id/],
    ['secretAccessKey', undefined, /secret access key/],
    ['secretAccessKey', 7, /secret access key/],
    ['sessionToken', '', /non-empty string, or leave it out/],
    ['sessionToken', 1, /non-empty string, or leave it out/],
    ['prefix', undefined, /is missing: name this data set's objects on the server, e\.g\. prefix: /],
    ['prefix', '', /must not be empty/],
    ['timeoutMs', 0, /positive integer/],
    ['timeoutMs', 1.5, /positive integer/],
    ['timeoutMs', '1000', /positive integer/],
  ];
  it.each(bad)('rejects s3 %s = %j with a message saying what to pass', (field, value, message) => {
    const error = invalid(() => assertRemoteConfig({ ...s3, [field]: value }));
    expect(error.argument).toBe(`remote.${field}`);
    expect(error.message).toMatch(message);
  });

  it('never echoes a long secret back in a message', () => {
    const secret = 'S'.repeat(60);
    const error = invalid(() => assertRemoteConfig({ ...s3, region: secret }));
    expect(error.message).not.toContain(secret);
  });

  it('keeps rejecting bad http fields as before', () => {
    const http = { kind: 'http', url: 'https://x/', prefix: 'p' };
    expect(invalid(() => assertRemoteConfig({ ...http, url: 'ftp://x' })).argument).toBe('remote.url');
    expect(invalid(() => assertRemoteConfig({ ...http, token: '' })).argument).toBe('remote.token');
    expect(invalid(() => assertRemoteConfig({ ...http, prefix: 3 })).argument).toBe('remote.prefix');
    expect(invalid(() => assertRemoteConfig({ ...http, timeoutMs: -1 })).argument).toBe('remote.timeoutMs');
  });
});

describe('connectOptions and openRemote', () => {
  it('addresses an s3 bucket path-style and signs its requests', async () => {
    const options = await connectOptions({ ...s3, endpoint: 'https://account.r2.cloudflarestorage.com/' });
    expect(options.baseUrl).toBe('https://account.r2.cloudflarestorage.com/my-bucket');
    expect(typeof options.fetch).toBe('function');
    expect(options.probe?.keyPrefix).toBe('alice/todos/');
    expect((await connectOptions({ ...s3, bucket: undefined })).baseUrl).toBe(s3.endpoint);
  });

  it('sends the http token as a bearer token', async () => {
    const options = await connectOptions({ kind: 'http', url: 'https://x/', prefix: 'p', token: 't' });
    expect(options).toMatchObject({ baseUrl: 'https://x/', headers: { Authorization: 'Bearer t' } });
    expect(options.fetch).toBeUndefined();
  });

  it('openRemote validates too, and sends nothing until used', () => {
    expect(invalid(() => openRemote({ ...s3, region: '' })).argument).toBe('remote.region');
    const remote = openRemote(s3);
    expect(Object.keys(remote).sort()).toEqual(['blobs', 'headsSeen', 'kv', 'storage', 'usage', 'watchHead']);
  });
});

describe('messages name the remote settings the application wrote', () => {
  /** Connects as openRemote would, through a fetch that answers every request with `status`. */
  const connectAnswering = async (config: RemoteConfig, status: number) => {
    forgetProbes();
    const fetch = () => Promise.resolve(new Response('no', { status }));
    return connectRemote({ ...(await connectOptions(config)), fetch });
  };
  const http = { kind: 'http', url: 'https://sync.example.com/', prefix: 'p' } as const;

  it('a URL the server has nothing at names remote.url (http) or remote.endpoint and remote.bucket (s3)', async () => {
    const error = await rejectsWith(connectAnswering(http, 404), 'REMOTE_FAILED');
    expect(error.message).toContain('answered 404 to a plain PUT');
    expect(error.message).toContain('Check remote.url.');
    expect(error.message).not.toMatch(/options\./);
    const s3Error = await rejectsWith(connectAnswering(s3, 404), 'REMOTE_FAILED');
    expect(s3Error.message).toContain('Check remote.endpoint and remote.bucket (the bucket must exist).');
  });

  it('refused s3 credentials name the credential settings, the session token when one was given', async () => {
    const error = await rejectsWith(connectAnswering(s3, 403), 'UNAUTHORIZED');
    expect(error.message).toContain('check remote.accessKeyId and remote.secretAccessKey');
    expect(error.message).not.toContain('sessionToken');
    expect(error.message).not.toMatch(/options\./);
    const temporary = await rejectsWith(connectAnswering({ ...s3, sessionToken: 'st' }, 403), 'UNAUTHORIZED');
    expect(temporary.message).toContain('with remote.sessionToken (temporary credentials expire');
  });

  it('refused s3 credentials from a credentials function name that function, not the fixed keys', async () => {
    const credentials = () => ({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret-example' });
    const { endpoint, region, bucket, prefix } = s3;
    const config: S3RemoteConfig = { kind: 's3', endpoint, region, bucket, prefix, credentials };
    const error = await rejectsWith(connectAnswering(config, 403), 'UNAUTHORIZED');
    expect(error.message).toContain('check the keys remote.credentials returns');
    expect(error.message).not.toContain('remote.accessKeyId');
  });

  it('a token refused after connecting (revoked, expired) names remote.token in sync requests too', async () => {
    forgetProbes();
    const server = createObjectServer({ baseUrl: 'https://revoked.test/store' });
    const config = { ...http, url: server.baseUrl, token: 't' };
    const backend = await connectRemote({
      ...(await connectOptions(config)),
      fetch: inProcessFetch(server.handlers),
      probe: { rounds: 1 },
    });
    server.inject({ kind: 'status', status: 401, method: 'GET' });
    const error = await rejectsWith(backend.download('k'), 'UNAUTHORIZED');
    expect(error.message).toContain('The server refused remote.token');
    expect(error.message).not.toMatch(/options\./);
  });
});

// Credentials that expire (issue 15 item 10): a function in place of fixed keys or a token.
describe('credentials and token functions', () => {
  const {
    accessKeyId: _id,
    secretAccessKey: _secret,
    sessionToken: _token,
    ...s3Base
  } = s3 as S3FixedKeysConfig;
  const provider = () => ({ accessKeyId: 'AKIA', secretAccessKey: 'secret', sessionToken: 'token' });
  const http = { kind: 'http', url: 'https://sync.example.com/', prefix: 'p' } as const;

  it('accepts a credentials function instead of the keys, and a token function', () => {
    expect(() => assertRemoteConfig({ ...s3Base, credentials: provider })).not.toThrow();
    expect(() => assertRemoteConfig({ ...http, token: () => 't' })).not.toThrow();
  });

  it('refuses a credentials function beside fixed keys, and a credentials value that is not a function', () => {
    const both = invalid(() => assertRemoteConfig({ ...s3, credentials: provider }));
    expect(both.argument).toBe('remote.credentials');
    expect(both.message).toContain('accessKeyId, secretAccessKey');
    expect(invalid(() => assertRemoteConfig({ ...s3Base, credentials: 'keys' })).argument).toBe(
      'remote.credentials',
    );
    // Neither keys nor a function: the message points at both ways.
    expect(invalid(() => assertRemoteConfig(s3Base)).argument).toBe('remote.accessKeyId');
  });

  it('a token function is sent through a fetch of its own, not as static headers', async () => {
    const options = await connectOptions({ ...http, token: () => 't' });
    expect(options.headers).toBeUndefined();
    expect(typeof options.fetch).toBe('function');
  });

  it('splitRemoteFunction leaves what structured clone can carry, and joinRemoteFunction puts it back', () => {
    for (const [config, key] of [
      [{ ...s3Base, credentials: provider }, 'credentials'],
      [{ ...http, token: () => 't' }, 'token'],
    ] as const) {
      const { config: data, fn } = splitRemoteFunction(config);
      expect(typeof fn).toBe('function');
      const cloned = structuredClone(data);
      expect(key in cloned).toBe(false);
      const joined = joinRemoteFunction(cloned, fn!);
      expect(() => assertRemoteConfig(joined)).not.toThrow();
      expect((joined as unknown as Record<string, unknown>)[key]).toBe(fn);
    }
    expect(splitRemoteFunction(s3)).toEqual({ config: s3 });
  });
});
