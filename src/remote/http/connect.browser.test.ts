/** In a browser, coming back `online` ends a refusal: the next connect probes the server again. */
import { afterEach, describe, expect, it } from 'vitest';
import type { RemoteError } from '../../contracts/errors.js';
import { rejectsWith } from '../../testing/conformance/support.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { openRemote } from '../remote-config.js';
import { connectRemote, forgetProbes } from './connect.js';

const server = createObjectServer({ baseUrl: 'https://online.test/store' });
const options = { baseUrl: server.baseUrl, fetch: inProcessFetch(server.handlers), probe: { rounds: 1 } };

afterEach(() => {
  server.reset();
  server.behaviour.ignorePreconditions = false;
  forgetProbes();
});

describe('connectRemote verdicts in a browser', () => {
  it('forgets a refusal when the browser comes back online', async () => {
    server.behaviour.ignorePreconditions = true;
    await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER');
    server.behaviour.ignorePreconditions = false;
    await rejectsWith(connectRemote(options), 'UNSUPPORTED_SERVER'); // remembered
    globalThis.dispatchEvent(new Event('online'));
    const backend = await connectRemote(options);
    await backend.uploadConditional('k', new Uint8Array([1]), { ifAbsent: true });
    expect(await backend.exists('k')).toBe(true);
  });
});

describe('an unreachable server in a browser', () => {
  it('is REMOTE_UNREACHABLE naming remote.url and CORS, not an indeterminate write', async () => {
    // A page learns nothing but "Failed to fetch" when the server is down, the port is refused (as
    // Chromium refuses port 1) or CORS blocks the answer: the message must cover all of them.
    const remote = openRemote({ kind: 'http', url: 'http://127.0.0.1:1', prefix: 'p' });
    const error = await rejectsWith(remote.kv.get('anything'), 'REMOTE_UNREACHABLE');
    expect(error.message).toContain('Could not reach the server at http://127.0.0.1:1');
    expect(error.message).toContain('Check remote.url');
    expect(error.message).toContain('CORS');
    expect(error.message).not.toMatch(/options\.|compare-and-swap/);
    expect((error as RemoteError).network).toBe(true);
  });
});
