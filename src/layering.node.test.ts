/**
 * The floor plan, guarded: contracts at the ground floor, shared mechanics (core) above them, the
 * implementations and integrations (memory, remote, sync, worker/idb, query, server, testing)
 * above core, the worker's wiring above those, the main-thread client on top. An import may only
 * point down. Test code (`*.test.ts`, `src/test-support/`) may import anything; nothing shipped may
 * import it.
 */
import { dirname, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTestCode, repoRoot, resolveRelative, sourceFiles, specifiers } from './test-support/imports.js';

const BASE = ['src/contracts', 'src/core'];
const IMPLEMENTATIONS = ['src/memory', 'src/remote', 'src/sync', 'worker/idb'];

/** Each floor (a folder) and the folders its shipped files may import from, besides its own. */
const FLOORS: Record<string, readonly string[]> = {
  'src/contracts': [],
  'src/core': ['src/contracts'],
  'src/memory': BASE,
  'src/remote': BASE,
  'src/sync': BASE,
  'worker/idb': BASE,
  'src/query': BASE,
  'src/server': BASE,
  'src/testing': BASE,
  'worker/rpc': BASE,
  'worker/multitab': [...BASE, 'worker/idb'],
  'worker/replica': [...BASE, ...IMPLEMENTATIONS, 'worker/multitab'],
  worker: [...BASE, ...IMPLEMENTATIONS, 'worker/multitab', 'worker/replica', 'worker/rpc'],
  'src/client': [...BASE, ...IMPLEMENTATIONS, 'worker', 'worker/multitab', 'worker/replica', 'worker/rpc'],
  // The `chainsync` entry: everything of the core package, nothing of its subpaths.
  src: [...BASE, ...IMPLEMENTATIONS, 'src/client'],
};

/** The floor a repo-relative path belongs to: the longest folder of FLOORS containing it. */
function floorOf(path: string): string | undefined {
  const dir = dirname(path);
  return Object.keys(FLOORS)
    .filter((floor) => dir === floor || dir.startsWith(`${floor}/`))
    .sort((a, b) => b.length - a.length)[0];
}

const shipped = [...sourceFiles('src'), ...sourceFiles('worker')].filter((path) => !isTestCode(path));

/** Every import of a shipped file that leaves its floor: `file -> target (target's floor)`. */
function wrongImports(allowed: (from: string, to: string) => boolean): string[] {
  const wrong: string[] = [];
  for (const file of shipped) {
    for (const spec of specifiers(`${repoRoot}/${file}`)) {
      const target = resolveRelative(`${repoRoot}/${file}`, spec);
      if (!target) continue;
      const to = relative(repoRoot, target);
      if (!allowed(file, to)) wrong.push(`${file} -> ${to}`);
    }
  }
  return wrong;
}

describe('floor plan', () => {
  it('places every shipped source file on a floor', () => {
    expect(shipped.filter((file) => floorOf(file) === undefined)).toEqual([]);
  });

  it('has no import that points up or sideways', () => {
    const wrong = wrongImports((from, to) => {
      const own = floorOf(from)!;
      const target = floorOf(to);
      return target === own || (target !== undefined && FLOORS[own]!.includes(target));
    });
    expect(wrong).toEqual([]);
  });

  it('ships no import of test code', () => {
    expect(wrongImports((_from, to) => !isTestCode(to))).toEqual([]);
  });

  it('keeps the contracts free of code from elsewhere, packages included', () => {
    const packages = sourceFiles('src/contracts')
      .filter((file) => !isTestCode(file))
      .flatMap((file) => specifiers(`${repoRoot}/${file}`).filter((spec) => !spec.startsWith('.')));
    expect(packages).toEqual([]);
  });
});
