import { AwsClient } from 'aws4fetch';
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
 * A `fetch` that signs every request for S3 with SigV4 (`aws4fetch`), to pass as
 * `HttpTransportOptions.fetch`: S3, R2, Ceph RGW and other S3-compatible stores.
 *
 * aws4fetch's own retries are switched off: it repeats 5xx answers, and a 5xx'd conditional PUT may
 * have been applied (or lost a race), so repeating it would be a blind compare-and-swap. The
 * backend settles such writes itself by reading back, and retries reads on its own.
 */
export function s3Fetch(credentials: S3Credentials): FetchLike {
  const aws = new AwsClient({
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
    region: credentials.region,
    service: 's3',
    retries: 0,
  });
  return (url, init) => aws.fetch(url, init);
}
