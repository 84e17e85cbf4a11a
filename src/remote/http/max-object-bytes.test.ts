/**
 * The largest object a server accepts: stated by the server in the `Chainsync-Max-Object-Bytes`
 * response header, read by the capability probe and answered by the backend's `maxObjectBytes()`;
 * a value configured in the options overrides it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_OBJECT_BYTES_HEADER } from '../../contracts/remote-backend.js';
import { rejectsWith } from '../../testing/conformance/support.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { connectRemote, forgetProbes } from './connect.js';
import { HttpRemoteBackend } from './http-backend.js';
import type { FetchLike } from './options.js';
import { probeServer } from './probe.js';

const server = createObjectServer({ baseUrl: 'https://limits.test/store' });
const plain = inProcessFetch(server.handlers);

/** The object server, answering every request with `header` set to `value`. */
const stating =
  (value: string): FetchLike =>
  async (input, init) => {
    const answer = await plain(input, init);
    const headers = new Headers(answer.headers);
    headers.set(MAX_OBJECT_BYTES_HEADER, value);
    const empty = [204, 304].includes(answer.status);
    return new Response(empty ? null : await answer.arrayBuffer(), { status: answer.status, headers });
  };

const quick = { rounds: 1 };

afterEach(() => {
  server.reset();
  forgetProbes();
});

describe('maxObjectBytes', () => {
  it('is what the server states, learned by the probe', async () => {
    const report = await probeServer({ baseUrl: server.baseUrl, fetch: stating('262144'), ...quick });
    expect(report.maxObjectBytes).toBe(262_144);
    const backend = await connectRemote({ baseUrl: server.baseUrl, fetch: stating('262144'), probe: quick });
    expect(await backend.maxObjectBytes()).toBe(262_144);
  });

  it('is null when the server states nothing', async () => {
    expect(
      (await probeServer({ baseUrl: server.baseUrl, fetch: plain, ...quick })).maxObjectBytes,
    ).toBeNull();
    const backend = await connectRemote({ baseUrl: server.baseUrl, fetch: plain, probe: quick });
    expect(await backend.maxObjectBytes()).toBeNull();
    expect(
      await new HttpRemoteBackend({ baseUrl: server.baseUrl, fetch: plain }).maxObjectBytes(),
    ).toBeNull();
  });

  it('ignores a stated value that is not a positive whole number of bytes', async () => {
    for (const value of ['abc', '0', '-5', '1e3', '12.5', '', '99999999999999999999']) {
      const report = await probeServer({ baseUrl: server.baseUrl, fetch: stating(value), ...quick });
      expect([value, report.maxObjectBytes]).toEqual([value, null]);
    }
  });

  it('is the configured value when one is given, whatever the server states', async () => {
    const options = {
      baseUrl: server.baseUrl,
      fetch: stating('262144'),
      probe: quick,
      maxObjectBytes: 1_000,
    };
    expect(await (await connectRemote(options)).maxObjectBytes()).toBe(1_000);
    expect(await new HttpRemoteBackend(options).maxObjectBytes()).toBe(1_000);
  });

  it('refuses a configured value that is not a positive whole number with INVALID_ARGUMENT', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, '1000', null]) {
      const options = { baseUrl: server.baseUrl, fetch: plain, maxObjectBytes: bad as number };
      expect(() => new HttpRemoteBackend(options)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      await rejectsWith(connectRemote({ ...options, probe: quick }), 'INVALID_ARGUMENT');
    }
  });
});
