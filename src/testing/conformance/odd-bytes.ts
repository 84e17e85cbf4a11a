import { expect } from 'vitest';
import type { InvalidArgumentError } from '../../contracts/errors.js';
import { rejectsWith } from './support.js';

/** A value that claims to be bytes but cannot be read as such, and what a true message about it says. */
export interface FakeBytes {
  readonly why: string;
  readonly value: unknown;
  /** What the error message must mention for it to tell the caller what happened. */
  readonly message: RegExp;
}

/** A Uint8Array subclass whose accessor `name` throws, as a hostile or broken subclass's may. */
function withThrowingAccessor(name: 'byteLength' | 'buffer' | 'length'): Uint8Array {
  class Hostile extends Uint8Array {}
  Object.defineProperty(Hostile.prototype, name, {
    get() {
      throw new TypeError(`${name} is not available`);
    },
  });
  return new Hostile(4);
}

/**
 * Values that pass `instanceof Uint8Array` (or are one) but are no bytes a store can read: a view
 * of a transferred buffer, a Proxy, an object made from the prototype, subclasses whose accessors
 * throw. Made fresh on each call.
 */
export function fakeBytes(): FakeBytes[] {
  const transferred = new ArrayBuffer(4);
  const detached = new Uint8Array(transferred);
  structuredClone(transferred, { transfer: [transferred] });
  const notGenuine = /not a genuine Uint8Array/;
  return [
    { why: 'a view of a transferred (detached) ArrayBuffer', value: detached, message: /detached/ },
    { why: 'a Proxy of a Uint8Array', value: new Proxy(new Uint8Array(4), {}), message: notGenuine },
    {
      why: 'an object made from Uint8Array.prototype',
      value: Object.create(Uint8Array.prototype),
      message: notGenuine,
    },
    {
      why: 'a subclass whose byteLength throws',
      value: withThrowingAccessor('byteLength'),
      message: /byteLength/,
    },
    { why: 'a subclass whose buffer throws', value: withThrowingAccessor('buffer'), message: /buffer/ },
    { why: 'a subclass whose length throws', value: withThrowingAccessor('length'), message: /length/ },
  ];
}

/**
 * Expects `promise` to reject with INVALID_ARGUMENT naming `argument`, with a message that says
 * what is wrong with `fake`.
 */
export async function rejectsFake(
  promise: Promise<unknown>,
  argument: string,
  fake: FakeBytes,
): Promise<void> {
  const error = await rejectsWith<InvalidArgumentError>(promise, 'INVALID_ARGUMENT');
  expect(error.argument, fake.why).toBe(argument);
  expect(error.message, fake.why).toMatch(fake.message);
}

/**
 * Genuine bytes of an unusual make, each with the bytes it holds: a subclass whose `slice` shares
 * memory instead of copying (as Node's Buffer's does) and a view into the middle of a larger buffer.
 * `scribble()` then overwrites every byte of their buffers, so a test can tell a stored copy from a
 * stored reference.
 */
export function oddBytes(): {
  cases: Array<{ why: string; value: Uint8Array; bytes: number[] }>;
  scribble(): void;
} {
  class SharingSlice extends Uint8Array {}
  Object.defineProperty(SharingSlice.prototype, 'slice', {
    value(this: Uint8Array, start?: number, end?: number) {
      return this.subarray(start, end);
    },
  });
  const shared = new SharingSlice([1, 2, 3]);
  const whole = new Uint8Array([9, 9, 4, 5, 6, 9, 9]);
  const view = whole.subarray(2, 5);
  return {
    cases: [
      { why: 'a subclass whose slice shares memory (like Buffer)', value: shared, bytes: [1, 2, 3] },
      { why: 'a view into the middle of a larger buffer', value: view, bytes: [4, 5, 6] },
    ],
    scribble() {
      shared.fill(0xee);
      whole.fill(0xee);
    },
  };
}
