import { lazyPart } from '../../core/lazy-part.js';

/** The S3 request signer (SigV4, `aws4fetch`): loaded when an S3 remote first connects. */
export const s3FetchPart = lazyPart('the S3 request signer (SigV4)', () => import('./s3-fetch.js'));
