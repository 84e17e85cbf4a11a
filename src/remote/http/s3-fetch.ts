import { AwsClient } from 'aws4fetch';
import type { Timers } from '../../core/timers.js';
import { RefreshingCredentials, type Expiration } from './credentials.js';
import type { FetchLike } from './options.js';

/** What signs S3 requests (AWS Signature Version 4). */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (STS) come with one; it is sent as `X-Amz-Security-Token`. */
  readonly sessionToken?: string;
  /** The signing region: `us-east-1` for Ceph RGW and MinIO defaults, `auto` for Cloudflare R2. */
  readonly region: string;
}

/**
 * Temporary credentials as an app's credentials function returns them (the fields of an STS
 * `AssumeRole` answer, or of Cloudflare R2's temporary access credentials).
 */
export interface S3TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When they stop working; they are replaced shortly before. Left out: when the store refuses them. */
  readonly expiration?: Expiration;
}

/** A function that returns fresh credentials, e.g. by asking the app's backend for an STS token. */
export type S3CredentialsProvider = () => S3TemporaryCredentials | Promise<S3TemporaryCredentials>;

/** Signing with credentials that expire: {@link s3Fetch} calls `credentials` for fresh ones. */
export interface S3RefreshingCredentials {
  readonly region: string;
  readonly credentials: S3CredentialsProvider;
  /** How long before their expiration credentials are replaced, in ms (default 5 minutes). */
  readonly marginMs?: number;
  /** The clock the expirations are compared with (tests inject one). */
  readonly timers?: Timers;
  /** The setting named when the function fails (default `remote.credentials`). */
  readonly setting?: string;
}

/**
 * S3 error codes that mean "these credentials expired (or were rotated away): sign with new ones".
 * AWS documents `ExpiredToken` ("The provided token has expired") and `TokenRefreshRequired` as
 * 400 answers; `InvalidToken` is what a revoked session token gets, `InvalidAccessKeyId` (403) a key
 * deleted by a rotation. R2 and Ceph RGW answer with the same codes.
 */
const EXPIRED_CODES = new Set(['ExpiredToken', 'TokenRefreshRequired', 'InvalidToken', 'InvalidAccessKeyId']);
const REFUSED = new Set([400, 401, 403]);

/**
 * A `fetch` that signs every request for S3 with SigV4 (`aws4fetch`), to pass as
 * `HttpTransportOptions.fetch`: S3, R2, Ceph RGW and other S3-compatible stores.
 *
 * aws4fetch's own retries are switched off: it repeats 5xx answers, and a 5xx'd conditional PUT may
 * have been applied (or lost a race), so repeating it would be a blind compare-and-swap. The
 * backend settles such writes itself by reading back, and retries reads on its own.
 *
 * With a credentials function, requests are signed with what it returned, replaced shortly before
 * their expiration and when the store refuses them as expired; the refused request is then sent
 * once more with the new ones (see {@link s3CredentialsExpired} for when that is safe).
 */
export function s3Fetch(credentials: S3Credentials | S3RefreshingCredentials): FetchLike {
  if (!('credentials' in credentials)) {
    const aws = client(credentials, credentials.region);
    return (url, init) => aws.fetch(url, init);
  }
  const { region } = credentials;
  const source = new RefreshingCredentials(credentials.credentials, {
    setting: credentials.setting ?? 'remote.credentials',
    check: checkTemporaryCredentials,
    expiration: (value) => value.expiration,
    marginMs: credentials.marginMs,
    timers: credentials.timers,
  });
  // One signer per set of credentials, built when they arrive.
  const signers = new WeakMap<S3TemporaryCredentials, AwsClient>();
  const signer = (value: S3TemporaryCredentials): AwsClient => {
    let aws = signers.get(value);
    if (aws === undefined) {
      aws = client(value, region);
      signers.set(value, aws);
    }
    return aws;
  };
  return async (url, init) => {
    const used = await source.current();
    const response = await signer(used).fetch(url, init);
    if (!(await s3CredentialsExpired(response, init.method ?? 'GET'))) return response;
    // The refusal is dropped: left open, its body would hold the connection.
    await response.body?.cancel();
    const fresh = await source.replace(used);
    return signer(fresh).fetch(url, init);
  };
}

function client(credentials: Omit<S3Credentials, 'region'>, region: string): AwsClient {
  return new AwsClient({
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
    region,
    service: 's3',
    retries: 0,
  });
}

/**
 * Whether the store refused `response`'s request because its credentials expired, so that sending
 * it again signed with fresh ones is safe:
 * - a write (PUT, DELETE) only when the answer's S3 error code says so (`ExpiredToken`, …). S3
 *   authenticates a request before it acts on it, so a request refused for its credentials was not
 *   applied: sending it again is its first application, not a blind repeat of a compare-and-swap.
 *   Any other refusal (AccessDenied, a 412) is the caller's to handle, and the resent request's own
 *   failure goes through the backend's indeterminate-write discipline as usual.
 * - a GET on the same codes; a HEAD on any 400 / 401 / 403, as its answer has no body to read a code
 *   from (reads change nothing, so one more try costs a request, never a write). A read refused
 *   again with fresh credentials is reported as refused.
 */
export async function s3CredentialsExpired(response: Response, method: string): Promise<boolean> {
  if (!REFUSED.has(response.status)) return false;
  if (method.toUpperCase() === 'HEAD') return true;
  const text = await response.clone().text();
  const code = /<Code>\s*([A-Za-z]+)\s*<\/Code>/.exec(text)?.[1];
  return code !== undefined && EXPIRED_CODES.has(code);
}

/** What is wrong with a credentials function's answer, or `null`. */
function checkTemporaryCredentials(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) {
    return `${value === null ? 'null' : typeof value} instead of { accessKeyId, secretAccessKey, sessionToken?, expiration? }`;
  }
  const v = value as Record<string, unknown>;
  for (const field of ['accessKeyId', 'secretAccessKey'] as const) {
    if (typeof v[field] !== 'string' || v[field] === '') return `no ${field} (expected a non-empty string)`;
  }
  if (v.sessionToken !== undefined && (typeof v.sessionToken !== 'string' || v.sessionToken === '')) {
    return 'a sessionToken that is not a non-empty string';
  }
  return null;
}
