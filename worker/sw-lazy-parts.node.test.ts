/**
 * A service worker cannot `import()` (browsers refuse it there), so `chainsync/sw` must hand every
 * part the engine loads on first use to its loader up front. Every dynamic import of the shipped
 * code sits in a loader module (`export const <part> = lazyPart(…, () => import('…'))`), and sw.ts
 * imports each such module statically and calls `<part>.provide(…)` with it. The one other
 * `import()` is the page worker's entry (worker.ts) loading its engine: the service worker never
 * runs that entry, it builds the engine from static imports.
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTestCode, repoRoot, resolveRelative, sourceFiles } from '../src/test-support/imports.js';

const shipped = [...sourceFiles('src'), ...sourceFiles('worker')].filter((path) => !isTestCode(path));
/** A source file's code, comments left out (they may show `import('…')` as an example). */
const read = (path: string) =>
  readFileSync(resolve(repoRoot, path), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

/** A loader module: the part it exports and the module (repo-relative) it imports. */
interface Loader {
  readonly file: string;
  readonly part: string;
  readonly module: string;
}

/** Every shipped file holding `import(…)`, as the loader it must be (null where it is not one). */
function dynamicImporters(): { file: string; loader: Loader | null }[] {
  return shipped
    .filter((file) => /\bimport\s*\(\s*['"]/.test(read(file)))
    .map((file) => {
      const source = read(file);
      const parts = [...source.matchAll(/export const (\w+) = lazyPart\(/g)];
      const imports = [...source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)];
      if (parts.length !== 1 || imports.length !== 1) return { file, loader: null };
      const target = resolveRelative(resolve(repoRoot, file), imports[0]![1]!);
      return {
        file,
        loader: target ? { file, part: parts[0]![1]!, module: relative(repoRoot, target) } : null,
      };
    });
}

/** The page worker's entry: it imports nothing statically and loads its engine with import(). */
const WORKER_ENTRY = 'worker/worker.ts';

describe('the service worker gets every lazily loaded part statically', () => {
  const importers = dynamicImporters().filter(({ file }) => file !== WORKER_ENTRY);

  it('finds the loaders (one part each), and no import() outside a loader module', () => {
    expect(importers.filter(({ loader }) => loader === null).map(({ file }) => file)).toEqual([]);
    expect(importers.length).toBeGreaterThan(0);
  });

  it("the worker entry's one import is import() of its engine module, which sw.ts does not need", () => {
    // Type-only imports and exports leave nothing in the JavaScript.
    const runtime = read(WORKER_ENTRY)
      .split('\n')
      .filter((line) => !/^\s*(?:import|export) type\b/.test(line))
      .join('\n');
    expect(
      [...runtime.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[0]),
    ).toEqual(["import('./engine-entry.js'"]);
    expect(read('worker/sw.ts')).toMatch(/^import \{ Engine \} from '\.\/engine\.js';$/m);
  });

  it('sw.ts imports each part statically and provides it to its loader', () => {
    const sw = read('worker/sw.ts');
    const staticImports = new Map(
      [...sw.matchAll(/^import \* as (\w+) from '([^']+)';$/gm)].map((m) => [
        relative(repoRoot, resolveRelative(resolve(repoRoot, 'worker/sw.ts'), m[2]!) ?? m[2]!),
        m[1]!,
      ]),
    );
    const missing = importers.flatMap(({ loader }) => {
      if (!loader) return [];
      const namespace = staticImports.get(loader.module);
      return namespace !== undefined && sw.includes(`${loader.part}.provide(${namespace});`)
        ? []
        : [
            `${loader.part} (${loader.file}): import * as x from '${loader.module}' and ${loader.part}.provide(x)`,
          ];
    });
    expect(missing).toEqual([]);
  });
});
