import { describe, expect, it } from 'vitest';
import type { AtomicRemoteBackend } from '../../contracts/remote-backend.js';
import type { RemoteError } from '../../contracts/errors.js';
import {
  BAD_BYTES,
  BAD_KEYS,
  b,
  concurrently,
  rejectsWith,
  s,
  type Factory,
  type HeldWritesHarness,
} from './support.js';
import { fakeBytes, oddBytes, rejectsFake } from './odd-bytes.js';

/** Options of {@link atomicRemoteBackendConformance}. */
export interface AtomicRemoteBackendConformanceOptions {
  /**
   * A backend on the same server that receives weak ETags (a server set to send `W/` tags), when
   * the implementation can be pointed at one: reads of versions must then fail with WEAK_ETAG.
   */
  weakETagFactory?: Factory<AtomicRemoteBackend>;
  /** Concurrent conditional writers in the race case (default 8). */
  writers?: number;
  /**
   * A backend whose requests pass through `holds` below it (e.g. a {@link "chainsync/testing"!holdingFetch}), for the
   * case of a conditional write that times out and reaches the server later.
   */
  heldWrites?: Factory<HeldWritesHarness<AtomicRemoteBackend>>;
}

/**
 * The AtomicRemoteBackend conformance suite: create-only, replace with the current and a stale
 * version, delete with version, ABA, weak ETags refused, listing, bad input and a CAS race.
 * The factory should give each case a fresh namespace (a new prefix on a shared server is fine).
 */
export function atomicRemoteBackendConformance(
  name: string,
  factory: Factory<AtomicRemoteBackend>,
  options: AtomicRemoteBackendConformanceOptions = {},
): void {
  const { writers = 8, weakETagFactory, heldWrites } = options;

  describe(`AtomicRemoteBackend conformance: ${name}`, () => {
    it('reports an absent object as null / false', async () => {
      const r = await factory();
      expect(await r.download('absent')).toBeNull();
      expect(await r.downloadVersioned('absent')).toBeNull();
      expect(await r.objectVersion('absent')).toBeNull();
      expect(await r.exists('absent')).toBe(false);
    });

    it('uploads and downloads with a strong version', async () => {
      const r = await factory();
      await r.upload('dir/obj', b('payload'));
      expect(s(await r.download('dir/obj'))).toBe('payload');
      expect(await r.exists('dir/obj')).toBe(true);
      const version = await r.objectVersion('dir/obj');
      expect(version).toBeTypeOf('string');
      expect(version!.startsWith('W/')).toBe(false);
      const versioned = await r.downloadVersioned('dir/obj');
      expect(s(versioned?.data)).toBe('payload');
      expect(versioned?.version).toBe(version);
    });

    it('stores empty and binary objects byte for byte', async () => {
      const r = await factory();
      const bin = new Uint8Array(70_000);
      for (let i = 0; i < bin.length; i++) bin[i] = (i * 131) & 0xff;
      await r.upload('bin', bin);
      await r.upload('empty', new Uint8Array(0));
      expect(await r.download('bin')).toEqual(bin);
      expect((await r.download('empty'))?.length).toBe(0);
      expect(await r.exists('empty')).toBe(true);
    });

    it('create-only (ifAbsent) creates once and then fails with PRECONDITION_FAILED', async () => {
      const r = await factory();
      const v = await r.uploadConditional('k', b('first'), { ifAbsent: true });
      expect(await r.objectVersion('k')).toBe(v);
      const err = await rejectsWith<RemoteError>(
        r.uploadConditional('k', b('second'), { ifAbsent: true }),
        'PRECONDITION_FAILED',
      );
      expect(err.determinate).toBe(true);
      expect(s(await r.download('k'))).toBe('first');
      expect(await r.objectVersion('k')).toBe(v);
    });

    it('replaces from the current version and refuses a stale one', async () => {
      const r = await factory();
      const v1 = await r.uploadConditional('k', b('one'), { ifAbsent: true });
      const v2 = await r.uploadConditional('k', b('two'), { ifVersion: v1 });
      expect(v2).not.toBe(v1);
      expect(await r.objectVersion('k')).toBe(v2);
      await rejectsWith(r.uploadConditional('k', b('stale'), { ifVersion: v1 }), 'PRECONDITION_FAILED');
      expect(s(await r.download('k'))).toBe('two');
    });

    it('a conditional replace of an absent object fails and creates nothing', async () => {
      const r = await factory();
      await r.upload('other', b('x'));
      const v = (await r.objectVersion('other'))!;
      await rejectsWith(r.uploadConditional('absent', b('x'), { ifVersion: v }), 'PRECONDITION_FAILED');
      expect(await r.exists('absent')).toBe(false);
    });

    it('the version returned by an unconditional upload is current', async () => {
      const r = await factory();
      await r.upload('k', b('one'));
      const v = (await r.objectVersion('k'))!;
      await r.upload('k', b('two'));
      await rejectsWith(r.uploadConditional('k', b('three'), { ifVersion: v }), 'PRECONDITION_FAILED');
      const v2 = (await r.objectVersion('k'))!;
      expect(v2).not.toBe(v);
      await r.uploadConditional('k', b('three'), { ifVersion: v2 });
      expect(s(await r.download('k'))).toBe('three');
    });

    it('is free of ABA: a version from before writes A, B, A stays stale', async () => {
      const r = await factory();
      const v1 = await r.uploadConditional('k', b('A'), { ifAbsent: true });
      const v2 = await r.uploadConditional('k', b('B'), { ifVersion: v1 });
      const v3 = await r.uploadConditional('k', b('A'), { ifVersion: v2 });
      expect(new Set([v1, v2, v3]).size).toBe(3);
      await rejectsWith(r.uploadConditional('k', b('C'), { ifVersion: v1 }), 'PRECONDITION_FAILED');
      await rejectsWith(r.deleteConditional('k', { ifVersion: v1 }), 'PRECONDITION_FAILED');
      expect(s(await r.download('k'))).toBe('A');
    });

    it('deletes with the current version, refuses a stale one and an absent object', async () => {
      const r = await factory();
      const v1 = await r.uploadConditional('k', b('one'), { ifAbsent: true });
      const v2 = await r.uploadConditional('k', b('two'), { ifVersion: v1 });
      await rejectsWith(r.deleteConditional('k', { ifVersion: v1 }), 'PRECONDITION_FAILED');
      expect(s(await r.download('k'))).toBe('two');
      await r.deleteConditional('k', { ifVersion: v2 });
      expect(await r.exists('k')).toBe(false);
      await rejectsWith(r.deleteConditional('k', { ifVersion: v2 }), 'PRECONDITION_FAILED');
      // Once deleted, create-only works again.
      await r.uploadConditional('k', b('three'), { ifAbsent: true });
    });

    it('unconditional delete succeeds whether or not the object exists', async () => {
      const r = await factory();
      await r.upload('k', b('x'));
      await r.delete('k');
      expect(await r.exists('k')).toBe(false);
      await r.delete('k');
      await r.delete('never');
    });

    it('refuses a weak ETag as a CAS version, saying why, and writes nothing', async () => {
      const r = await factory();
      await r.upload('k', b('x'));
      const weak = 'W/"abc"';
      const err = await rejectsWith<RemoteError>(
        r.uploadConditional('k', b('y'), { ifVersion: weak }),
        'WEAK_ETAG',
      );
      expect(err.determinate).toBe(true);
      expect(err.message).toMatch(/weak/i);
      await rejectsWith(r.deleteConditional('k', { ifVersion: weak }), 'WEAK_ETAG');
      expect(s(await r.download('k'))).toBe('x');
    });

    if (weakETagFactory) {
      it('refuses to report a weak ETag from the server as a version', async () => {
        const r = await weakETagFactory();
        await r.upload('weak', b('x'));
        await rejectsWith(r.objectVersion('weak'), 'WEAK_ETAG');
        await rejectsWith(r.downloadVersioned('weak'), 'WEAK_ETAG');
      });
    }

    it('keeps keys with slashes and non-ASCII characters apart', async () => {
      const r = await factory();
      const keys = ['a/b/c', 'a/b', 'ключ/値', 'with space', 'dots.and-dashes_1'];
      for (const key of keys) await r.upload(key, b(`v:${key}`));
      for (const key of keys) expect(s(await r.download(key))).toBe(`v:${key}`);
    });

    it('lists by prefix, ascending, when the backend can list', async () => {
      const r = await factory();
      if (!r.list) return expect(r.list).toBeUndefined();
      for (const key of ['p/2', 'p/1', 'p/10', 'q/1', 'px']) await r.upload(key, b(key));
      expect(await r.list('p/')).toEqual(['p/1', 'p/10', 'p/2']);
      expect(await r.list('none/')).toEqual([]);
    });

    it('lists objects with their sizes, ascending, when the backend can', async () => {
      const r = await factory();
      if (!r.listObjects) return expect(r.listObjects).toBeUndefined();
      await r.upload('s/b', new Uint8Array(300));
      await r.upload('s/a', b('hello'));
      await r.upload('s/empty', new Uint8Array(0));
      await r.upload('t/x', b('x'));
      await r.upload('s/a', b('hello, again')); // the size now, not at the first write
      const listed = await r.listObjects('s/');
      // A backend whose listing cannot state the objects' own sizes states none of them.
      const sizes = listed.every((o) => o.bytes === null) ? [null, null, null] : [12, 300, 0];
      expect(listed).toEqual([
        { key: 's/a', bytes: sizes[0] },
        { key: 's/b', bytes: sizes[1] },
        { key: 's/empty', bytes: sizes[2] },
      ]);
      await r.delete('s/b');
      expect((await r.listObjects('s/')).map((o) => o.key)).toEqual(['s/a', 's/empty']);
      expect(await r.listObjects('none/')).toEqual([]);
    });

    it('rejects bad keys, data and conditions with INVALID_ARGUMENT, writing nothing', async () => {
      const r = await factory();
      await r.upload('ok', b('x'));
      const v = (await r.objectVersion('ok'))!;
      for (const [, key] of BAD_KEYS) {
        const k = key as string;
        await rejectsWith(r.download(k), 'INVALID_ARGUMENT');
        await rejectsWith(r.upload(k, b('x')), 'INVALID_ARGUMENT');
        await rejectsWith(r.uploadConditional(k, b('x'), { ifAbsent: true }), 'INVALID_ARGUMENT');
        await rejectsWith(r.deleteConditional(k, { ifVersion: v }), 'INVALID_ARGUMENT');
        await rejectsWith(r.objectVersion(k), 'INVALID_ARGUMENT');
      }
      for (const [, data] of BAD_BYTES) {
        await rejectsWith(r.upload('ok', data as never), 'INVALID_ARGUMENT');
        await rejectsWith(r.uploadConditional('ok', data as never, { ifVersion: v }), 'INVALID_ARGUMENT');
      }
      for (const cond of [
        null,
        {},
        { ifAbsent: false },
        { ifVersion: '' },
        { ifAbsent: true, ifVersion: v },
      ]) {
        await rejectsWith(r.uploadConditional('ok', b('y'), cond as never), 'INVALID_ARGUMENT');
      }
      await rejectsWith(r.deleteConditional('ok', {} as never), 'INVALID_ARGUMENT');
      expect(s(await r.download('ok'))).toBe('x');
      expect(await r.objectVersion('ok')).toBe(v);
    });

    describe('bytes that are not what they claim', () => {
      it('rejects fake and detached data with INVALID_ARGUMENT naming the data, writing nothing', async () => {
        const r = await factory();
        await r.upload('ok', b('x'));
        const v = (await r.objectVersion('ok'))!;
        for (const fake of fakeBytes()) {
          await rejectsFake(r.upload('ok', fake.value as never), 'data', fake);
          await rejectsFake(r.uploadConditional('ok', fake.value as never, { ifVersion: v }), 'data', fake);
          await rejectsFake(
            r.uploadConditional('new', fake.value as never, { ifAbsent: true }),
            'data',
            fake,
          );
        }
        expect(s(await r.download('ok'))).toBe('x');
        expect(await r.objectVersion('ok')).toBe(v);
        expect(await r.exists('new')).toBe(false);
      });

      it('stores a copy of just the viewed bytes of a subclass or a view into a larger buffer', async () => {
        const r = await factory();
        const odd = oddBytes();
        for (const [i, { value }] of odd.cases.entries()) await r.upload(`odd/${i}`, value);
        odd.scribble();
        for (const [i, { why, bytes }] of odd.cases.entries()) {
          expect([...(await r.download(`odd/${i}`))!], why).toEqual(bytes);
        }
      });
    });

    it(`${writers} concurrent conditional writers from one version: exactly one wins`, async () => {
      const r = await factory();
      for (let round = 0; round < 5; round++) {
        const key = `race-${round}`;
        const v0 = await r.uploadConditional(key, b('start'), { ifAbsent: true });
        const results = await concurrently(writers, async (w) => {
          try {
            return await r.uploadConditional(key, b(`w${w}`), { ifVersion: v0 });
          } catch (error) {
            if ((error as { code?: string }).code === 'PRECONDITION_FAILED') return null;
            throw error;
          }
        });
        const winners = results.flatMap((v, w) => (v ? [w] : []));
        expect(winners.length).toBe(1);
        expect(s(await r.download(key))).toBe(`w${winners[0]}`);
        expect(await r.objectVersion(key)).toBe(results[winners[0]!]);
      }
    });

    if (heldWrites) {
      it('a conditional write that times out is never reported as refused; once landed, its retry is', async () => {
        const { store: r, holds } = await heldWrites();
        /** Runs `write` with its request held past the timeout; it lands after the read-back, if any. */
        const held = async <T>(write: () => Promise<T>): Promise<T | RemoteError> => {
          const hold = holds.hold();
          const outcome = await write().catch((error: unknown) => error as RemoteError);
          expect(hold.write, 'the write was held').not.toBeNull();
          await hold.release();
          if (outcome instanceof Error) {
            // Only "may have been applied" is true: the write did reach the server.
            expect(outcome.code).toBe('REMOTE_INDETERMINATE');
            expect(outcome.determinate).toBe(false);
          }
          return outcome;
        };
        const created = await held(() => r.uploadConditional('new', b('created'), { ifAbsent: true }));
        expect(s(await r.download('new'))).toBe('created');
        if (typeof created === 'string') expect(await r.objectVersion('new')).toBe(created);
        await rejectsWith(
          r.uploadConditional('new', b('created'), { ifAbsent: true }),
          'PRECONDITION_FAILED',
        );

        const v1 = (await r.objectVersion('new'))!;
        const replaced = await held(() => r.uploadConditional('new', b('replaced'), { ifVersion: v1 }));
        expect(s(await r.download('new'))).toBe('replaced');
        if (typeof replaced === 'string') expect(await r.objectVersion('new')).toBe(replaced);
        await rejectsWith(
          r.uploadConditional('new', b('replaced'), { ifVersion: v1 }),
          'PRECONDITION_FAILED',
        );

        const v2 = (await r.objectVersion('new'))!;
        await held(() => r.deleteConditional('new', { ifVersion: v2 }));
        expect(await r.exists('new')).toBe(false);
        await rejectsWith(r.deleteConditional('new', { ifVersion: v2 }), 'PRECONDITION_FAILED');
      });
    }
  });
}
