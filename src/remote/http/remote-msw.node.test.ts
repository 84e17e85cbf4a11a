import { setupServer } from 'msw/node';
import { afterAll, beforeAll } from 'vitest';
import { atomicRemoteBackendConformance } from '../../testing/conformance/index.js';
import { holdingFetch } from '../../testing/held-writes.js';
import { createObjectServer } from '../../testing/msw/index.js';
import { HttpRemoteBackend } from './http-backend.js';
import type { ServerQuirks } from './options.js';

const objects = createObjectServer({ baseUrl: 'http://objects.test/store' });
const weak = createObjectServer({ baseUrl: 'http://weak.test/store', weakETags: true });
const msw = setupServer(...objects.handlers, ...weak.handlers);
beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterAll(() => msw.close());

/** Each case gets its own directory on the shared server (the listing is relative to it). */
const fresh = (baseUrl: string) => () =>
  new HttpRemoteBackend({ baseUrl: `${baseUrl}/${crypto.randomUUID()}`, list: 'json' });

/** A fresh backend whose writes can be held past the timeout below it, in its (msw-intercepted) fetch. */
const holding = (quirks?: Partial<ServerQuirks>) => () => {
  const held = holdingFetch((input, init) => globalThis.fetch(input, init));
  const store = new HttpRemoteBackend({
    baseUrl: `${objects.baseUrl}/${crypto.randomUUID()}`,
    fetch: held.fetch,
    quirks,
  });
  return { store, holds: held.holds };
};

atomicRemoteBackendConformance('remote-msw', fresh(objects.baseUrl), {
  weakETagFactory: fresh(weak.baseUrl),
  heldWrites: holding(),
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
  { heldWrites: holding({ contentDerivedETags: true, deleteIgnoresIfMatch: true }) },
);
