import { describe, expect, it } from 'vitest';
import { UnsupportedBrowserError } from '../contracts/errors.js';
import { assertBrowserSupport, type BrowserScope } from './browser-support.js';

/** A page with every feature the engine needs. */
const constructor = function () {};
const full: BrowserScope = {
  Worker: constructor,
  indexedDB: {},
  BroadcastChannel: constructor,
  isSecureContext: true,
  navigator: { locks: {} },
  crypto: { subtle: {} },
};

function failure(scope: BrowserScope): UnsupportedBrowserError {
  try {
    assertBrowserSupport(scope);
  } catch (error) {
    if (error instanceof UnsupportedBrowserError) return error;
    throw error;
  }
  throw new Error('expected UNSUPPORTED_BROWSER');
}

describe('assertBrowserSupport', () => {
  it('passes a page with every feature, and this test environment where it is a browser', () => {
    expect(() => assertBrowserSupport(full)).not.toThrow();
    if (typeof document !== 'undefined') expect(() => assertBrowserSupport()).not.toThrow();
  });

  it.each([
    ['Worker', { ...full, Worker: undefined }],
    ['indexedDB', { ...full, indexedDB: undefined }],
    ['navigator.locks', { ...full, navigator: {} }],
    ['BroadcastChannel', { ...full, BroadcastChannel: undefined }],
    ['crypto.subtle', { ...full, crypto: {} }],
  ] as const)('names a missing %s, with code UNSUPPORTED_BROWSER', (feature, scope) => {
    const error = failure(scope);
    expect(error.code).toBe('UNSUPPORTED_BROWSER');
    expect(error.feature).toBe(feature);
    expect(error.message).toContain(`chainsync needs ${feature}`);
    expect(error.message).toMatch(/current browser/);
  });

  it('tells a page that is not a secure context to use https, not another browser', () => {
    const error = failure({ ...full, isSecureContext: false, navigator: {}, crypto: {} });
    expect(error.feature).toBe('navigator.locks');
    expect(error.message).toMatch(/not a secure context: serve it over https/);
    expect(error.message).not.toMatch(/current browser/);
  });
});
