import { expect } from 'vitest';
import type { CasKv, VersionToken } from '../contracts/cas-kv.js';
import { s } from '../testing/conformance/support.js';

/**
 * Checks what N concurrent puts under `prefix` left, put i having written `v<i>`: each got its own
 * version, and the store holds the values in key order, each under the version its put returned.
 */
export async function expectPutsStored(
  kv: CasKv,
  prefix: string,
  versions: readonly VersionToken[],
): Promise<void> {
  const values = versions.map((_, i) => `v${i}`);
  expect(new Set(versions).size).toBe(values.length);
  const items = await kv.scan(prefix);
  expect(items.map((item) => s(item.value))).toEqual(values);
  expect(items.map((item) => item.version)).toEqual(versions);
}
