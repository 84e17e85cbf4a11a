/**
 * What the npm package ships: every subpath export names types first and a built entry, the build
 * compiles no test code, and the packed file list holds nothing but the build of shipped sources
 * (run after `npm run build`, as `npm test` does).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTestCode, repoRoot } from './test-support/imports.js';

const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
};

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
});
