import { expect } from 'vitest';
import { bytesEqual } from '../core/bytes.js';

/**
 * Asserts `actual` holds exactly `expected`'s bytes. `toEqual` walks a large Uint8Array element by
 * element through its diff machinery: seconds per 100 kB on a loaded machine, tens of seconds per MiB.
 */
export function expectSameBytes(actual: Uint8Array | null | undefined, expected: Uint8Array): void {
  expect(actual?.length, 'the byte length').toBe(expected.length);
  expect(bytesEqual(actual!, expected), 'the bytes differ').toBe(true);
}
