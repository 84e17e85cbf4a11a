/**
 * Decompression is bounded: a segment or snapshot that inflates past what its header declares, or
 * past the replica's `maxDecodedBytes`, is CHAIN_INTEGRITY — found while inflating, not after the
 * whole expansion sits in memory. The declared length is gzip's own (ISIZE, in every member's
 * trailer), so the format is unchanged and every chain ever written stays readable.
 */
import { describe, expect, it } from 'vitest';
import type { StoredObject } from '../contracts/replica.js';
import { plainGzipped, paddedSegmentBody } from '../test-support/decompression-bomb.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { decodeSegment, encodeSegment, type VersionPlace } from './segments.js';
import { decodeSnapshot, encodeSnapshot } from './snapshots.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { Replica } from './replica.js';
import { deriveKey } from './sealing.js';

const MiB = 1024 * 1024;

function place(): VersionPlace {
  return {
    clientId: crypto.randomUUID(),
    versionId: crypto.randomUUID(),
    parentVersionId: crypto.randomUUID(),
    height: 7,
  };
}

describe('bounded decompression', () => {
  it('a gzip segment that inflates past maxDecodedBytes is CHAIN_INTEGRITY', async () => {
    const p = place();
    // 8 MiB of valid JSON (mostly whitespace) in a few kB of gzip: a small bomb.
    const bomb = await plainGzipped(paddedSegmentBody(p, 8 * MiB));
    expect(bomb.length).toBeLessThan(MiB / 32);
    const error = await rejectsWith(
      decodeSegment({ key: null, maxDecodedBytes: MiB }, p, bomb),
      'CHAIN_INTEGRITY',
    );
    expect(error.message).toMatch(/more than 1048576 bytes/);
    // The same bytes within the limit are an ordinary segment: big bodies stay readable.
    expect(await decodeSegment({ key: null, maxDecodedBytes: 9 * MiB }, p, bomb)).toEqual([
      { type: 'create', collection: 'tasks', id: 't' },
    ]);
  });

  it('a segment declares its length (gzip ISIZE): inflating past it, or a declaration over the limit, is refused', async () => {
    const p = place();
    const ops = Array.from({ length: 300 }, (_, i) => ({
      type: 'create' as const,
      collection: 'c',
      id: `o${i}`,
    }));
    const bytes = await encodeSegment({ key: null }, p, ops);
    expect(bytes[1]).toBe(1); // gzip: the format every chain was written in, unchanged
    expect(await decodeSegment({ key: null }, p, bytes)).toEqual(ops);
    const isize = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset + b.length - 4, 4);
    const declared = isize(bytes).getUint32(0, true);
    // A server lowers the declared length (unencrypted chains are not authenticated): refused,
    // by the bound or by zlib's own length check, whichever sees it first in a value this small.
    const lowered = bytes.slice();
    isize(lowered).setUint32(0, declared - 1, true);
    await rejectsWith(decodeSegment({ key: null }, p, lowered), 'CHAIN_INTEGRITY');
    // A declaration larger than the reader allows is refused before inflating anything.
    const over = await rejectsWith(
      decodeSegment({ key: null, maxDecodedBytes: declared - 1 }, p, bytes),
      'CHAIN_INTEGRITY',
    );
    expect(over.message).toMatch(new RegExp(`declares a body of ${declared} bytes`));
    // A raised declaration (the body ends short of it) is refused too.
    const raised = bytes.slice();
    isize(raised).setUint32(0, declared + 1, true);
    await rejectsWith(decodeSegment({ key: null }, p, raised), 'CHAIN_INTEGRITY');
  });

  it('a bomb whose gzip data lies about its length is stopped at the declared length', async () => {
    const p = place();
    // 8 MiB of body declaring 1 KiB: a plain chain's server can forge the trailer.
    const bomb = await plainGzipped(paddedSegmentBody(p, 8 * MiB));
    new DataView(bomb.buffer, bomb.length - 4, 4).setUint32(0, 1024, true);
    const error = await rejectsWith(decodeSegment({ key: null }, p, bomb), 'CHAIN_INTEGRITY');
    expect(error.message).toMatch(/inflates to more than the 1024 bytes it declares/);
  });

  it('on an encrypted chain the declared length is authenticated, and bounded the same way', async () => {
    const key = await deriveKey('s', new Uint8Array(16), 1);
    const p = place();
    const ops = [
      {
        type: 'update' as const,
        collection: 'c',
        id: 'o',
        property: 'text',
        value: ' '.repeat(2 * MiB),
        timestamp: 1,
      },
    ];
    const bytes = await encodeSegment({ key }, p, ops);
    expect(bytes[0]).toBe(0x02); // sealed
    const error = await rejectsWith(
      decodeSegment({ key, maxDecodedBytes: MiB }, p, bytes),
      'CHAIN_INTEGRITY',
    );
    expect(error.message).toMatch(/declares a body of \d+ bytes: more than 1048576 bytes/);
    expect(await decodeSegment({ key }, p, bytes)).toEqual(ops);
  });

  it('reads a segment as chainsync wrote them before this bound (the format is unchanged)', async () => {
    // encodeSegment of main before the bound: 40 creates at height 2, gzipped by Node's zlib.
    const written =
      'AQEfiwgAAAAAAAADjdIxDoJAEEbhu/z1mjAzqMBVCIXBQmMhCcbGeHeDwcZ5BVvshpct5gv70lOdFY3qVK1r993qZWt+n+syFV3P2+6GiqZtV11FF3VedJ9mdX2vUUWP03ybl7PSUP6S5eQ5RU51TvucDjkdc2pyamFUGh/mNwAYCAwIBgYDhIHCgGHgcHA4/QdwODgcHA4OB4eDw8Hh4AhwBDiCHhQ4AhwBjgBHgCPAEa2G4f0BvnjOpq0DAAA=';
    const bytes = Uint8Array.from(atob(written), (c) => c.charCodeAt(0));
    const p: VersionPlace = {
      clientId: '00000000-0000-4000-8000-000000000001',
      versionId: '00000000-0000-4000-8000-000000000003',
      parentVersionId: '00000000-0000-4000-8000-000000000002',
      height: 2,
    };
    const ops = Array.from({ length: 40 }, (_, i) => ({ type: 'create', collection: 'tasks', id: `t${i}` }));
    expect(await decodeSegment({ key: null, maxDecodedBytes: 64 * 1024 }, p, bytes)).toEqual(ops);
  });

  it('a snapshot bomb is refused the same way', async () => {
    const client = crypto.randomUUID();
    const versionId = crypto.randomUUID();
    const objects: StoredObject[] = [
      { collection: 'c', id: 'big', properties: { text: ' '.repeat(8 * MiB) } },
    ];
    const landed = { from: 0, seqs: {} };
    const bytes = await encodeSnapshot({ key: null }, client, { versionId, height: 1, objects, landed });
    expect(bytes.length).toBeLessThan(MiB / 4);
    await rejectsWith(
      decodeSnapshot({ key: null, maxDecodedBytes: MiB }, client, versionId, bytes),
      'CHAIN_INTEGRITY',
    );
    expect((await decodeSnapshot({ key: null }, client, versionId, bytes)).objects).toEqual(objects);
  });

  it('maxDecodedBytes is validated: an integer from 64 KiB to 4 GiB - 1', async () => {
    const open = (maxDecodedBytes: unknown) =>
      Replica.open({
        store: new MemoryReplicaStore(),
        storage: new MemoryStorage(),
        clientId: crypto.randomUUID(),
        maxDecodedBytes: maxDecodedBytes as number,
      });
    for (const bad of [0, 1024, 64 * 1024 - 1, 2 ** 32, 1.5 * MiB + 0.5, '1048576', Number.NaN]) {
      const error = await rejectsWith(open(bad), 'INVALID_ARGUMENT');
      expect(error.message).toMatch(/options\.maxDecodedBytes.*64 KiB/);
    }
    for (const good of [64 * 1024, MiB, 2 ** 32 - 1]) await open(good);
  });
});
