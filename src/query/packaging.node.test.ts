/**
 * Packaging of chainsync/query: the subpath export (types first), @tanstack/query-core as an
 * optional peer dependency, and the core entry's import graph never reaching it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packagesReachableFrom, repoRoot as root } from '../test-support/imports.js';

describe('chainsync/query packaging', () => {
  it('the core entry does not pull in @tanstack/query-core; the query entry does', () => {
    const core = packagesReachableFrom(resolve(root, 'src/index.ts'));
    expect([...core].filter((p) => p.startsWith('@tanstack/'))).toEqual([]);
    const query = packagesReachableFrom(resolve(root, 'src/query/index.ts'));
    expect(query.has('@tanstack/query-core')).toBe(true);
  });

  it('exports ./query (types first) and declares @tanstack/query-core an optional peer', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.exports['./query'])).toEqual(['types', 'default']);
    expect(pkg.exports['./query'].types).toBe('./dist/src/query/index.d.ts');
    expect(pkg.peerDependencies['@tanstack/query-core']).toMatch(/^\^5\./);
    expect(pkg.peerDependenciesMeta['@tanstack/query-core']).toEqual({ optional: true });
    expect(pkg.dependencies['@tanstack/query-core']).toBeUndefined();
  });
});
