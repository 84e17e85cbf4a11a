/**
 * The HTTP backend over the msw object server through an injected in-process fetch: runs in Node
 * AND in Chromium (no service worker needed), so the backend is proven on the browser's fetch,
 * Request and Headers too.
 */
import { describe, expect, it } from 'vitest';
import type { RemoteError } from '../../contracts/errors.js';
import { atomicRemoteBackendConformance } from '../../testing/conformance/index.js';
import { b, rejectsWith } from '../../testing/conformance/support.js';
import { holdingFetch } from '../../testing/held-writes.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { HttpRemoteBackend } from './http-backend.js';

const objects = createObjectServer({ baseUrl: 'https://objects.test/store' });
const weak = createObjectServer({ baseUrl: 'https://weak.test/store', weakETags: true });
const fetch = inProcessFetch([...objects.handlers, ...weak.handlers]);

const fresh = (baseUrl: string) => () =>
  new HttpRemoteBackend({ baseUrl: `${baseUrl}/${crypto.randomUUID()}`, list: 'json', fetch });

atomicRemoteBackendConformance('remote-msw (in-process fetch)', fresh(objects.baseUrl), {
  weakETagFactory: fresh(weak.baseUrl),
  // Writes held past the timeout below the backend, in its fetch.
  heldWrites: () => {
    const held = holdingFetch(fetch);
    const store = new HttpRemoteBackend({
      baseUrl: `${objects.baseUrl}/${crypto.randomUUID()}`,
      fetch: held.fetch,
    });
    return { store, holds: held.holds };
  },
});

describe('HTTP backend on an in-process fetch', () => {
  it('reports an applied-then-dropped conditional PUT as indeterminate', async () => {
    const r = fresh(objects.baseUrl)();
    const v = await r.uploadConditional('k', b('one'), { ifAbsent: true });
    objects.inject({ kind: 'drop', method: 'PUT', applied: true });
    const err = await rejectsWith<RemoteError>(
      r.uploadConditional('k', b('two'), { ifVersion: v }),
      'REMOTE_INDETERMINATE',
    );
    expect(err.determinate).toBe(false);
    expect(new TextDecoder().decode((await r.download('k'))!)).toBe('two');
  });
});
