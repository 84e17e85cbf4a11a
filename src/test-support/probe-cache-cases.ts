/**
 * The probe cache's cases, run on every {@link ProbeCacheStore}: the memory one (Node and
 * Chromium), the worker's IndexedDB one (fake-indexeddb in Node, real IndexedDB in Chromium).
 * Each "page load" is a fresh process as far as `connectRemote` knows (`forgetProbes()`) over the
 * same store, as a reloaded page's worker finds the store's database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProbeCacheStore } from '../contracts/probe-cache.js';
import { connectRemote, forgetProbes, type ConnectRemoteOptions } from '../remote/http/connect.js';
import { PROBE_CACHE_TTL_MS, probeCacheKey } from '../remote/http/probe-cache.js';
import { createObjectServer, inProcessFetch } from '../testing/msw/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/**
 * Registers the cases. `fresh` makes empty storage for one case and returns how to open it: each
 * call of the opener sees the same storage, as a new page load would.
 */
export function probeCacheCases(name: string, fresh: () => () => ProbeCacheStore): void {
  describe(`probe cache (${name})`, () => {
    const server = createObjectServer({ baseUrl: 'https://cached.test/store' });
    const other = createObjectServer({ baseUrl: 'https://other.test/store' });
    let now = 1_000_000;
    const clock = () => now;
    let open: () => ProbeCacheStore = fresh();
    beforeEach(() => {
      open = fresh();
    });

    /** What one page load's worker passes to connectRemote. */
    const options = (
      extra: { identity?: string[]; prefix?: string; at?: typeof server } = {},
    ): ConnectRemoteOptions => {
      const at = extra.at ?? server;
      return {
        baseUrl: at.baseUrl,
        fetch: inProcessFetch(at.handlers),
        probe: { rounds: 1, keyPrefix: extra.prefix ?? 'set/' },
        probeCache: { store: open(), identity: extra.identity ?? ['bearer', 't1'], clock },
      };
    };
    /** Connects as a fresh page load would; returns how many requests the connection sent. */
    const pageLoad = async (o: ConnectRemoteOptions, at = server) => {
      forgetProbes();
      const before = at.requests.length;
      const backend = await connectRemote(o);
      return { backend, requests: at.requests.length - before };
    };

    afterEach(() => {
      server.reset();
      other.reset();
      server.behaviour.weakETags = false;
      forgetProbes();
    });

    it('a second page load against the same server sends no probe request', async () => {
      const first = await pageLoad(options());
      expect(first.requests).toBeGreaterThan(0);
      const second = await pageLoad(options());
      expect(second.requests).toBe(0);
      // The remembered quirks and limit work as the measured ones did.
      await second.backend.uploadConditional('set/k', bytes('v'), { ifAbsent: true });
      expect(await second.backend.download('set/k')).toEqual(bytes('v'));
    });

    it('probes again once the entry is PROBE_CACHE_TTL_MS old', async () => {
      await pageLoad(options());
      now += PROBE_CACHE_TTL_MS - 1;
      expect((await pageLoad(options())).requests).toBe(0);
      now += 1;
      expect((await pageLoad(options())).requests).toBeGreaterThan(0);
      // The new probe is remembered in turn.
      expect((await pageLoad(options())).requests).toBe(0);
    });

    it('probes again for another URL, another prefix or other credentials', async () => {
      await pageLoad(options());
      expect((await pageLoad(options({ at: other }), other)).requests).toBeGreaterThan(0);
      expect((await pageLoad(options({ prefix: 'another/' }))).requests).toBeGreaterThan(0);
      expect((await pageLoad(options({ identity: ['bearer', 't2'] }))).requests).toBeGreaterThan(0);
      // Each is remembered on its own.
      expect((await pageLoad(options({ identity: ['bearer', 't2'] }))).requests).toBe(0);
      expect((await pageLoad(options())).requests).toBe(0);
    });

    it('forgets the entry on a surprise (a weak ETag), so the next page load probes again', async () => {
      await pageLoad(options());
      const { backend } = await pageLoad(options());
      await backend.uploadConditional('set/k', bytes('v'), { ifAbsent: true });
      server.behaviour.weakETags = true; // the server changed since it was probed
      await expect(backend.downloadVersioned('set/k')).rejects.toThrow();
      server.behaviour.weakETags = false;
      expect((await pageLoad(options())).requests).toBeGreaterThan(0);
    });

    it('forgets the entry when a write is answered 413 (the size the probe read is stale)', async () => {
      await pageLoad(options());
      const { backend } = await pageLoad(options());
      server.inject({ kind: 'status', method: 'PUT', status: 413 });
      await expect(backend.upload('set/big', bytes('x'))).rejects.toThrow();
      expect((await pageLoad(options())).requests).toBeGreaterThan(0);
    });

    it('keeps the entry through ordinary refusals: a lost race (412) is no surprise', async () => {
      await pageLoad(options());
      const { backend } = await pageLoad(options());
      await backend.uploadConditional('set/k', bytes('v'), { ifAbsent: true });
      await expect(backend.uploadConditional('set/k', bytes('w'), { ifAbsent: true })).rejects.toThrow();
      expect((await pageLoad(options())).requests).toBe(0);
    });

    it('stores no secret in clear: the key is a SHA-256 digest', async () => {
      const key = await probeCacheKey(server.baseUrl, 'set/', ['bearer', 'secret-token']);
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(key).not.toBe(await probeCacheKey(server.baseUrl, 'set/', ['bearer', 'other-token']));
    });
  });
}
