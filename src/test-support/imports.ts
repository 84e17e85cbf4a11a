/**
 * Test support (Node only): reads the import graph of the sources, for the floor-plan and
 * packaging tests. A regular expression is enough: every import in the project is a static
 * `import … from '…'`, `export … from '…'` or `import('…')` with a literal specifier.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root (this file is src/test-support/imports.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module specifier `file` imports or re-exports (static and dynamic). */
export function specifiers(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

/** The file a relative specifier of `from` names (`.js` → the `.ts` source), or null. */
export function resolveRelative(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = resolve(dirname(from), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target, `${target}.ts`]) {
    if (existsSync(candidate) && !candidate.endsWith('/')) return candidate;
  }
  return null;
}

/** The source files (absolute paths, `entry` included) and packages reachable from `entry`. */
function reachableFrom(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of specifiers(file)) {
      const target = resolveRelative(file, spec);
      if (target) visit(target);
      else if (!spec.startsWith('.')) packages.add(spec);
    }
  };
  visit(entry);
  return { files, packages };
}

/** The packages reachable from `entry` through relative imports. */
export function packagesReachableFrom(entry: string): Set<string> {
  return reachableFrom(entry).packages;
}

/** The source files (absolute paths) reachable from `entry` through relative imports, itself included. */
export function sourcesReachableFrom(entry: string): Set<string> {
  return reachableFrom(entry).files;
}

/** Every `.ts` file under `dir` (repo-relative paths), recursively. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push(relative(repoRoot, path));
    }
  };
  walk(resolve(repoRoot, dir));
  return out.sort();
}

/** Whether a repo-relative path is test code: a test file or internal test support. */
export function isTestCode(path: string): boolean {
  return /\.test\.ts$/.test(path) || path.startsWith('src/test-support/');
}
