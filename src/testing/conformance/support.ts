import { expect } from 'vitest';
import type { CasKv } from '../../contracts/cas-kv.js';
import { type ErrorCode, ChainsyncError } from '../../contracts/errors.js';
import type { WriteHolds } from '../held-writes.js';

/** Makes each implementation under test; called once per test case, so cases never share state. */
export type Factory<T> = () => T | Promise<T>;

/** UTF-8 bytes of `text`. */
export function b(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** UTF-8 text of `bytes`. */
export function s(bytes: Uint8Array | undefined | null): string | undefined {
  return bytes ? new TextDecoder().decode(bytes) : undefined;
}

/** Awaits `promise`, expects it to reject with a ChainsyncError of `code`, and returns the error. */
export async function rejectsWith<E extends ChainsyncError = ChainsyncError>(
  promise: Promise<unknown>,
  code: ErrorCode,
): Promise<E> {
  let settled: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    settled = { ok: true, value: await promise };
  } catch (error) {
    settled = { ok: false, error };
  }
  if (settled.ok) {
    throw new Error(`expected a ${code} rejection, but it resolved to ${String(settled.value)}`);
  }
  const error = settled.error;
  expect(error, `expected a ChainsyncError with code ${code}, got ${String(error)}`).toBeInstanceOf(
    ChainsyncError,
  );
  expect((error as ChainsyncError).code).toBe(code);
  expect((error as Error).message.length).toBeGreaterThan(10);
  return error as E;
}

/** Values that are not valid keys, each with why. */
export const BAD_KEYS: ReadonlyArray<[string, unknown]> = [
  ['empty string', ''],
  ['number', 42],
  ['undefined', undefined],
  ['null', null],
  ['object', { key: 'a' }],
  ['over-long (1025 UTF-8 bytes)', 'k'.repeat(1025)],
  ['multi-byte over-long', 'é'.repeat(513)],
  ['lone surrogate', 'a\uD800b'],
];

/** Values that are not byte arrays. */
export const BAD_BYTES: ReadonlyArray<[string, unknown]> = [
  ['string', 'hello'],
  ['ArrayBuffer', new ArrayBuffer(4)],
  ['number array', [1, 2, 3]],
  ['null', null],
  ['DataView', new DataView(new ArrayBuffer(2))],
];

/** Runs `tasks` concurrently. */
export function concurrently<T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => task(i)));
}

/**
 * Each handle in `kvs` (one store, or many handles on one database) increments the counter at
 * `key` by CAS until it has won `rounds` times, retrying on REVISION_MISMATCH. Fails if two
 * writers ever win from the same version. Returns the versions that were won from.
 */
export async function casIncrementRace(
  kvs: readonly CasKv[],
  key: string,
  rounds: number,
): Promise<Set<string>> {
  const winners = new Set<string>();
  await concurrently(kvs.length, async (i) => {
    const kv = kvs[i]!;
    for (let done = 0; done < rounds;) {
      const cur = (await kv.get(key))!;
      try {
        await kv.update(key, b(String(Number(s(cur.value)) + 1)), cur.version);
      } catch (error) {
        if ((error as { code?: string }).code === 'REVISION_MISMATCH') continue;
        throw error;
      }
      expect(winners.has(cur.version), `two writers won from version ${cur.version}`).toBe(false);
      winners.add(cur.version);
      done++;
    }
  });
  return winners;
}

/**
 * A remote store under test whose backend's writes pass through `holds` (a {@link "chainsync/testing"!FaultyBackend}'s
 * or a {@link "chainsync/testing"!holdingFetch}'s), for the cases where a write times out and lands later.
 */
export interface HeldWritesHarness<T> {
  readonly store: T;
  readonly holds: WriteHolds;
}

/**
 * Runs a scenario once per conditional write it makes, each time holding one of them (the first,
 * then the second, …) past the client's timeout, until a run makes no write to hold: every write of
 * the scenario gets its turn. `run(round)` makes the writes and checks what they returned;
 * `check(round)` checks the stored state once the held write has landed. Returns how many runs
 * held a write.
 */
export async function holdEachWrite(
  holds: WriteHolds,
  lands: 'after-read-back' | 'manual',
  run: (round: number) => Promise<void>,
  check: (round: number) => Promise<void> = async () => {},
): Promise<number> {
  for (let round = 0; round < 200; round++) {
    const hold = holds.hold({ skip: round, lands });
    try {
      await run(round);
    } finally {
      await hold.release();
    }
    await check(round);
    if (hold.write === null) return round;
  }
  throw new Error('the scenario kept making writes: it never ends');
}
