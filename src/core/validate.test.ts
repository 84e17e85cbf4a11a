import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../contracts/errors.js';
import { copyBytes } from './bytes.js';
import { assertBytes, assertKey } from './validate.js';

/** A Proxy every one of whose traps throws: the most hostile value a caller can pass. */
const hostile = new Proxy(new Uint8Array(4), {
  get: () => {
    throw new Error('get trap');
  },
  getPrototypeOf: () => {
    throw new Error('getPrototypeOf trap');
  },
  getOwnPropertyDescriptor: () => {
    throw new Error('getOwnPropertyDescriptor trap');
  },
});

function thrownBy(check: () => void): InvalidArgumentError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return error as InvalidArgumentError;
  }
  throw new Error('expected the check to throw');
}

describe('assertBytes (the one check of every byte argument; the conformance suites cover the rest)', () => {
  it('turns a value whose every trap throws into INVALID_ARGUMENT, never a raw error', () => {
    const error = thrownBy(() => assertBytes(hostile, 'data'));
    expect(error.argument).toBe('data');
    expect(error.message).toMatch(/could not be inspected \(reading it threw: getPrototypeOf trap\)/);
    // Messages about other arguments describe such a value without touching it either.
    expect(thrownBy(() => assertKey(hostile)).message).toMatch(/cannot be inspected/);
  });

  it('refuses an array whose own length property was redefined, naming it', () => {
    const array = new Uint8Array(2);
    Object.defineProperty(array, 'length', { value: 1000 });
    expect(thrownBy(() => assertBytes(array)).message).toMatch(/its length is redefined/);
  });

  it.runIf(typeof globalThis.Buffer === 'function')(
    "accepts Node's Buffer, and copyBytes copies it (Buffer's own slice would share memory)",
    () => {
      const buffer = globalThis.Buffer.from('abc');
      assertBytes(buffer);
      const copy = copyBytes(buffer);
      buffer.fill(0);
      expect([...copy]).toEqual([97, 98, 99]);
      expect(Object.getPrototypeOf(copy)).toBe(Uint8Array.prototype);
    },
  );
});
