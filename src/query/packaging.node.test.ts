/**
 * Packaging of chainsync/query: the subpath export (types first), @tanstack/query-core as an
 * optional peer dependency, and the core entry's import graph never reaching it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found = [...source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map(
    (m) => m[1]!,
  );
  return found;
}

/** The packages reachable from `entry` through relative imports. */
function packagesReachableFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  };
  visit(entry);
  return packages;
}

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
