import { describe, expect, it } from 'vitest';
import type { BlobStorage, LeaseId } from '../../contracts/blob-storage.js';
import { bytesEqual } from '../../core/bytes.js';
import { contentIdOf } from '../../core/content-id.js';
import { streamChunks } from '../../core/stream-chunks.js';
import { BAD_BYTES, b, concurrently, rejectsWith, s, type Factory } from './support.js';
import { fakeBytes, oddBytes, rejectsFake } from './odd-bytes.js';

const lease = (pid: string, id: string = crypto.randomUUID()): LeaseId => ({ id, pid });

async function blob(text: string): Promise<[string, Uint8Array]> {
  const data = b(text);
  return [await contentIdOf(data), data];
}

/** Every chunk of `chunks`, joined. */
async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  const out = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of parts) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The BlobStorage conformance suite: content addressing and dedup, leases held one by one (no
 * counter underflow), readers that hold content, pid termination, garbage collection, bad input.
 */
export function blobStorageConformance(name: string, factory: Factory<BlobStorage>): void {
  describe(`BlobStorage conformance: ${name}`, () => {
    it('stores by content id and returns the bytes', async () => {
      const store = await factory();
      const [id, data] = await blob('hello blob');
      const l = lease('p1');
      await store.store(id, data, l);
      expect(s(await store.getData(id, l))).toBe('hello blob');
    });

    it('refuses data that does not hash to the content id, storing nothing', async () => {
      const store = await factory();
      const [id] = await blob('claimed');
      await rejectsWith(store.store(id, b('actual'), lease('p1')), 'CONTENT_MISMATCH');
      await rejectsWith(store.getData(id, lease('p1')), 'CONTENT_NOT_FOUND');
      await rejectsWith(store.leaseByContent(id, lease('p1')), 'CONTENT_NOT_FOUND');
    });

    it('lease_by_content, get_data and get_reader of absent content are CONTENT_NOT_FOUND', async () => {
      const store = await factory();
      const [id] = await blob('never stored');
      await rejectsWith(store.leaseByContent(id, lease('p1')), 'CONTENT_NOT_FOUND');
      await rejectsWith(store.getData(id, lease('p1')), 'CONTENT_NOT_FOUND');
      await rejectsWith(store.getReader(id, lease('p1')), 'CONTENT_NOT_FOUND');
    });

    it('dedups: the same content stored under two leases survives until both are dropped', async () => {
      const store = await factory();
      const [id, data] = await blob('shared');
      const l1 = lease('p1');
      const l2 = lease('p2');
      await store.store(id, data, l1);
      await store.store(id, data, l2);
      await store.adviseLeaseDropped(l1, id);
      expect((await store.collectGarbage()).deleted).toEqual([]);
      expect(s(await store.getData(id, l2))).toBe('shared');
      await store.adviseLeaseDropped(l2, id);
      expect((await store.collectGarbage()).deleted).toEqual([id]);
      await rejectsWith(store.getData(id, l2), 'CONTENT_NOT_FOUND');
    });

    it('leases are a set, not a counter: leasing twice then dropping once frees; dropping twice never underflows', async () => {
      const store = await factory();
      const [id, data] = await blob('counted?');
      const l1 = lease('p1', 'same');
      const l2 = lease('p1', 'other');
      await store.store(id, data, l1);
      await store.leaseByContent(id, l1);
      await store.leaseByContent(id, l2);
      await store.adviseLeaseDropped(l1, id);
      await store.adviseLeaseDropped(l1, id);
      await store.adviseLeaseDropped(l1, id);
      // l2 still holds it: extra drops of l1 must not eat l2's lease.
      expect((await store.collectGarbage()).deleted).toEqual([]);
      await store.adviseLeaseDropped(l2, id);
      expect((await store.collectGarbage()).deleted).toEqual([id]);
    });

    it('ignores drops of unknown leases and content', async () => {
      const store = await factory();
      const [id] = await blob('unknown');
      await store.adviseLeaseDropped(lease('nobody'), id);
      expect(await store.collectGarbage()).toEqual({ terminatedPids: [], deleted: [] });
    });

    it('a reader holds content while open, reads ranges and streams, and releases on close', async () => {
      const store = await factory();
      const [id, data] = await blob('0123456789');
      const l = lease('p1');
      await store.store(id, data, l);
      const reader = await store.getReader(id, l);
      expect(reader.contentId).toBe(id);
      expect(reader.size).toBe(10);
      await store.adviseLeaseDropped(l, id);
      expect((await store.collectGarbage()).deleted).toEqual([]);
      expect(s(await reader.read(2, 3))).toBe('234');
      expect(s(await reader.read(8, 100))).toBe('89');
      expect(s(await reader.read())).toBe('0123456789');
      expect(s(await readAll(streamChunks(reader.stream())))).toBe('0123456789');
      // chunks(): `for await` in every engine (WebKit cannot iterate the stream itself).
      expect(s(await readAll(reader.chunks()))).toBe('0123456789');
      for await (const chunk of reader.chunks()) {
        expect(chunk.length).toBeGreaterThan(0);
        break; // leaving early cancels the rest and releases the stream
      }
      expect(s(await reader.read(0, 4))).toBe('0123');
      await reader.close();
      await reader.close();
      await rejectsWith(reader.read(), 'STORE_CLOSED');
      expect((await store.collectGarbage()).deleted).toEqual([id]);
    });

    it('a terminated pid loses its leases; content another pid leases survives', async () => {
      const store = await factory();
      const [a, dataA] = await blob('only p1');
      const [c, dataC] = await blob('p1 and p2');
      await store.adviseOfPid('p1');
      await store.adviseOfPid('p2');
      await store.store(a, dataA, lease('p1'));
      await store.store(c, dataC, lease('p1'));
      await store.leaseByContent(c, lease('p2'));
      await store.advisePidTerminated('p1');
      expect((await store.collectGarbage()).deleted).toEqual([a]);
      expect(s(await store.getData(c, lease('p2')))).toBe('p1 and p2');
    });

    it('the collector asks whether pids are alive and drops the leases of dead ones', async () => {
      const store = await factory();
      const [a, dataA] = await blob('held by a dead tab');
      const [c, dataC] = await blob('held by a live tab');
      await store.store(a, dataA, lease('dead-tab'));
      await store.store(c, dataC, lease('live-tab'));
      const report = await store.collectGarbage({ isPidAlive: (pid) => pid === 'live-tab' });
      expect(report.terminatedPids).toEqual(['dead-tab']);
      expect(report.deleted).toEqual([a]);
      expect(s(await store.getData(c, lease('live-tab')))).toBe('held by a live tab');
    });

    it('content referenced by replica objects survives without any lease', async () => {
      const store = await factory();
      const [a, dataA] = await blob('referenced');
      const [c, dataC] = await blob('unreferenced');
      const l = lease('p1');
      await store.store(a, dataA, l);
      await store.store(c, dataC, l);
      await store.adviseLeaseDropped(l, a);
      await store.adviseLeaseDropped(l, c);
      const report = await store.collectGarbage({ isReferenced: (id) => id === a });
      expect(report.deleted).toEqual([c]);
      expect(s(await store.getData(a, l))).toBe('referenced');
    });

    it('stores a 2 MiB blob byte for byte', async () => {
      const store = await factory();
      const data = new Uint8Array(2 * 1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      const id = await contentIdOf(data);
      await store.store(id, data, lease('p1'));
      expect(bytesEqual(await store.getData(id, lease('p1')), data)).toBe(true);
    });

    it('concurrent stores of the same content all lease it', async () => {
      const store = await factory();
      const [id, data] = await blob('racing stores');
      const leases = Array.from({ length: 8 }, (_, i) => lease(`p${i}`));
      await concurrently(leases.length, (i) => store.store(id, data, leases[i]!));
      for (const l of leases.slice(0, -1)) await store.adviseLeaseDropped(l, id);
      expect((await store.collectGarbage()).deleted).toEqual([]);
      await store.adviseLeaseDropped(leases[leases.length - 1]!, id);
      expect((await store.collectGarbage()).deleted).toEqual([id]);
    });

    describe('bytes that are not what they claim', () => {
      it('rejects fake and detached data with INVALID_ARGUMENT naming the data, storing nothing', async () => {
        const store = await factory();
        const id = await contentIdOf(new Uint8Array(4)); // what the fakes would hold, were they readable
        for (const fake of fakeBytes()) {
          await rejectsFake(store.store(id, fake.value as never, lease('p')), 'data', fake);
        }
        await rejectsWith(store.getData(id, lease('p')), 'CONTENT_NOT_FOUND');
      });

      it('stores a copy of just the viewed bytes of a subclass or a view into a larger buffer', async () => {
        const store = await factory();
        const odd = oddBytes();
        const ids: string[] = [];
        for (const { value } of odd.cases) {
          ids.push(await contentIdOf(new Uint8Array(value)));
          await store.store(ids.at(-1)!, value, lease('p'));
        }
        odd.scribble();
        for (const [i, { why, bytes }] of odd.cases.entries()) {
          expect([...(await store.getData(ids[i]!, lease('p')))], why).toEqual(bytes);
        }
      });
    });

    it('rejects bad content ids, data, leases and pids with INVALID_ARGUMENT, storing nothing', async () => {
      const store = await factory();
      const [id, data] = await blob('valid');
      for (const bad of ['', 'abc', id.toUpperCase(), id + '0', 42, null]) {
        await rejectsWith(store.store(bad as never, data, lease('p')), 'INVALID_ARGUMENT');
        await rejectsWith(store.getData(bad as never, lease('p')), 'INVALID_ARGUMENT');
        await rejectsWith(store.leaseByContent(bad as never, lease('p')), 'INVALID_ARGUMENT');
      }
      for (const [, bad] of BAD_BYTES) {
        await rejectsWith(store.store(id, bad as never, lease('p')), 'INVALID_ARGUMENT');
      }
      for (const bad of [null, {}, { id: 'x' }, { id: '', pid: 'p' }, { id: 'x', pid: '' }, 'lease']) {
        await rejectsWith(store.store(id, data, bad as never), 'INVALID_ARGUMENT');
        await rejectsWith(store.adviseLeaseDropped(bad as never, id), 'INVALID_ARGUMENT');
      }
      for (const bad of ['', 1, null]) {
        await rejectsWith(store.adviseOfPid(bad as never), 'INVALID_ARGUMENT');
        await rejectsWith(store.advisePidTerminated(bad as never), 'INVALID_ARGUMENT');
      }
      await rejectsWith(store.getData(id, lease('p')), 'CONTENT_NOT_FOUND');
    });
  });
}
