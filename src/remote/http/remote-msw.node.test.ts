import { setupServer } from 'msw/node';
import { afterAll, beforeAll } from 'vitest';
import { atomicRemoteBackendConformance } from '../../testing/conformance/index.js';
import { createObjectServer } from '../../testing/msw/index.js';
import { HttpRemoteBackend } from './http-backend.js';

const objects = createObjectServer({ baseUrl: 'http://objects.test/store' });
const weak = createObjectServer({ baseUrl: 'http://weak.test/store', weakETags: true });
const msw = setupServer(...objects.handlers, ...weak.handlers);
beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterAll(() => msw.close());

/** Each case gets its own directory on the shared server (the listing is relative to it). */
const fresh = (baseUrl: string) => () =>
  new HttpRemoteBackend({ baseUrl: `${baseUrl}/${crypto.randomUUID()}`, list: 'json' });

atomicRemoteBackendConformance('remote-msw', fresh(objects.baseUrl), {
  weakETagFactory: fresh(weak.baseUrl),
});

// The same backend with the workarounds connectRemote turns on for S3-like servers (envelope with a
// nonce per write, tombstones for conditional deletes) must keep every guarantee.
atomicRemoteBackendConformance(
  'remote-msw (envelope, tombstone deletes)',
  () =>
    new HttpRemoteBackend({
      baseUrl: `${objects.baseUrl}/${crypto.randomUUID()}`,
      list: 'json',
      quirks: { contentDerivedETags: true, deleteIgnoresIfMatch: true },
    }),
);
