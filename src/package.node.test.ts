/**
 * What the npm package ships: every subpath export names types first and a built entry, the build
 * compiles no test code, the packed file list holds nothing but the build of shipped sources, and
 * every source map in the tarball can show its sources (run after `npm run build`, as `npm test`
 * does).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTestCode, repoRoot } from './test-support/imports.js';
import { packPackage, pkg } from './test-support/packed-package.js';

/** The sources `tsconfig.build.json` compiles into dist/ (repo-relative). */
function buildInputs(): string[] {
  const out = execFileSync(
    process.execPath,
    [resolve(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--listFilesOnly'],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  return out
    .split('\n')
    .filter((line) => line.startsWith(repoRoot) && !line.includes('/node_modules/'))
    .map((line) => line.slice(repoRoot.length + 1));
}

/** The files `npm pack` would put in the tarball. */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return (JSON.parse(out) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
}

describe('npm package', () => {
  const inputs = buildInputs();

  it('compiles no test code into dist/', () => {
    expect(inputs.length).toBeGreaterThan(50);
    expect(inputs.filter(isTestCode)).toEqual([]);
  });

  it('exports each subpath with types first, built from a shipped source', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue; // ./package.json
      expect(Object.keys(target), subpath).toEqual(['types', 'default']);
      const source = target.default!.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
      expect(inputs, subpath).toContain(source);
      expect(target.types, subpath).toBe(target.default!.replace(/\.js$/, '.d.ts'));
    }
  });

  it('packs only the build of shipped sources, the README, the licence and package.json', () => {
    const files = packedFiles();
    const built = new Set(inputs.map((input) => input.replace(/\.ts$/, '')));
    const stray = files.filter((file) => {
      if (['package.json', 'README.md', 'LICENSE'].includes(file)) return false;
      const match = /^dist\/(.+?)\.(js|d\.ts)(\.map)?$/.exec(file);
      return !match || !built.has(match[1]!);
    });
    expect(stray, 'a stale dist/? run `npm run build`').toEqual([]);
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(bin);
    // package.json says MIT: the text of the licence ships with it (npm packs LICENSE by itself).
    expect(files).toContain('LICENSE');
    expect(files.filter((file) => /test/.test(file.replace(/^dist\/src\/testing\//, '')))).toEqual([]);
  });

  it(
    'ships every source its source maps name (a bundler warns of each missing one)',
    { timeout: 60_000 },
    () => {
      const packed = packPackage();
      try {
        const files = new Set(packed.files);
        const maps = packed.files.filter((file) => file.endsWith('.map'));
        expect(maps.length).toBeGreaterThan(50);
        const missing: string[] = [];
        for (const map of maps) {
          const { sources, sourcesContent, sourceRoot } = JSON.parse(
            readFileSync(resolve(packed.dir, 'package', map), 'utf8'),
          ) as { sources: string[]; sourcesContent?: (string | null)[]; sourceRoot?: string };
          sources.forEach((source, i) => {
            // Inlined in the map, or a file of the tarball at the path the map names.
            if (typeof sourcesContent?.[i] === 'string') return;
            const path = posix.normalize(posix.join(posix.dirname(map), sourceRoot ?? '', source));
            if (!files.has(path)) missing.push(`${map} → ${source}`);
          });
        }
        expect(missing).toEqual([]);
      } finally {
        packed.dispose();
      }
    },
  );
});
