/**
 * The change signal seen from the client: the probe reports it on the reference server (which has
 * it) and not on the msw object server (which does not); `readIfChanged` is held by the former and
 * a plain conditional GET on the latter; a probe report cached before the signal existed reads as
 * "no signal" (no `Prefer` is sent). Against the reference server on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverPerFile } from '../../test-support/temp-server.js';
import { createObjectServer, inProcessFetch } from '../../testing/msw/index.js';
import { connectRemote, forgetProbes } from './connect.js';
import type { FetchLike } from './options.js';
import { MemoryProbeCacheStore, probeCacheKey } from './probe-cache.js';
import { probeServer } from './probe.js';
import { HttpRemoteBackend } from './http-backend.js';

const shared = serverPerFile('signal-client');
const bytes = (text: string) => new TextEncoder().encode(text);
afterEach(() => forgetProbes());

/** A fetch recording each request's `Prefer` header. */
function recording(inner: FetchLike = (input, init) => globalThis.fetch(input, init)) {
  const prefer: (string | null)[] = [];
  const fetch: FetchLike = (input, init) => {
    prefer.push(new Headers(init.headers).get('prefer'));
    return inner(input, init);
  };
  return { fetch, prefer };
}

/** Resolves once the server holds `count` requests (an observable state, not a time). */
async function held(count: number): Promise<void> {
  while (shared.server.heldRequests !== count) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('the change signal, client side', () => {
  it('the probe reports it on the reference server, and not on the msw object server', async () => {
    expect((await probeServer({ baseUrl: shared.server.url, rounds: 1 })).changeSignal).toBe(true);
    const msw = createObjectServer({ baseUrl: 'https://plain.test/store' });
    const report = await probeServer({
      baseUrl: msw.baseUrl,
      fetch: inProcessFetch(msw.handlers),
      rounds: 1,
    });
    expect(report.blocking).toEqual([]);
    expect(report.changeSignal).toBe(false);
  });

  it('readIfChanged is held by the reference server until another writer changes the object', async () => {
    const backend = await connectRemote({ baseUrl: shared.server.url, probe: { rounds: 1 } });
    const writer = new HttpRemoteBackend({ baseUrl: shared.server.url });
    const v1 = await writer.uploadConditional('held/client', bytes('1'), { ifAbsent: true });
    const timedOut = await backend.readIfChanged('held/client', v1, { waitSeconds: 1 });
    expect(timedOut).toEqual({ version: v1, changed: false, held: true });
    const answer = backend.readIfChanged('held/client', v1, { waitSeconds: 20 });
    await held(1);
    const v2 = await writer.uploadConditional('held/client', bytes('2'), { ifVersion: v1 });
    expect(await answer).toEqual({ version: v2, changed: true, held: true });
    // Absent, and created while held.
    const created = backend.readIfChanged('held/new', null, { waitSeconds: 20 });
    await held(1);
    const v3 = await writer.uploadConditional('held/new', bytes('3'), { ifAbsent: true });
    expect(await created).toEqual({ version: v3, changed: true, held: true });
  });

  it('on a server without the signal readIfChanged is a plain conditional GET: 304 at once, the new version after a write', async () => {
    const msw = createObjectServer({ baseUrl: 'https://plain.test/store' });
    const rec = recording(inProcessFetch(msw.handlers));
    const backend = await connectRemote({ baseUrl: msw.baseUrl, fetch: rec.fetch, probe: { rounds: 1 } });
    const v1 = await backend.uploadConditional('c/client', bytes('1'), { ifAbsent: true });
    expect(await backend.readIfChanged('c/client', v1, { waitSeconds: 20 })).toEqual({
      version: v1,
      changed: false,
      held: false,
    });
    expect(msw.requests.at(-1)).toMatchObject({ method: 'GET' });
    expect(rec.prefer.filter((p) => p !== null && p !== 'wait=0')).toEqual([]); // only the probe's
    const v2 = await backend.uploadConditional('c/client', bytes('2'), { ifVersion: v1 });
    expect(await backend.readIfChanged('c/client', v1)).toEqual({ version: v2, changed: true, held: false });
    expect(await backend.readIfChanged('c/none', null)).toEqual({
      version: null,
      changed: false,
      held: false,
    });
  });

  it('a probe report cached before the signal existed reads as "no signal": no Prefer is sent', async () => {
    const store = new MemoryProbeCacheStore();
    const probeCache = { store };
    await connectRemote({ baseUrl: shared.server.url, probe: { rounds: 1 }, probeCache });
    // The entry as an earlier release wrote it: the same report without changeSignal.
    const key = await probeCacheKey(new URL(shared.server.url).href.replace(/\/+$/, ''), '');
    const entry = (await store.get(key))!;
    expect(entry.report).toMatchObject({ changeSignal: true });
    const { changeSignal: _dropped, ...older } = entry.report as unknown as Record<string, unknown>;
    await store.put(key, { ...entry, report: older as unknown as typeof entry.report });
    forgetProbes();
    const rec = recording();
    const backend = await connectRemote({ baseUrl: shared.server.url, fetch: rec.fetch, probeCache });
    const v = await backend.uploadConditional('old/client', bytes('1'), { ifAbsent: true });
    expect(rec.prefer).toEqual([null]); // read from the cache: no probe request was sent
    expect(await backend.readIfChanged('old/client', v, { waitSeconds: 20 })).toEqual({
      version: v,
      changed: false,
      held: false,
    });
    expect(rec.prefer).toEqual([null, null]);
  });

  it('refuses a bad waitSeconds or since with INVALID_ARGUMENT, sending nothing', async () => {
    const rec = recording();
    const backend = new HttpRemoteBackend({
      baseUrl: shared.server.url,
      fetch: rec.fetch,
      changeSignal: true,
    });
    for (const waitSeconds of [-1, 1.5, 61]) {
      await expect(backend.readIfChanged('k', null, { waitSeconds })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    await expect(backend.readIfChanged('k', 'W/"weak"')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(rec.prefer).toEqual([]);
  });
});
