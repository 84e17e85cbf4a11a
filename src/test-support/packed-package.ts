/**
 * Test support (Node only): the package as a consumer gets it. Packs the built package with
 * `npm pack` (run after `npm run build`, as `npm test` does), unpacks the tarball into a fresh
 * consumer directory outside the repo with only the packages a test names beside it (linked from
 * the repo's node_modules: no registry needed), and type-checks a consumer's files there with
 * `skipLibCheck: false`, as a strict consumer would.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './imports.js';

/** package.json, as far as the package tests read it. */
export interface PackageJson {
  readonly name: string;
  readonly exports: Record<string, string | Record<string, string>>;
  readonly bin: Record<string, string>;
  readonly dependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
  readonly peerDependenciesMeta: Record<string, { optional?: boolean }>;
}

/** The repo's package.json. */
export const pkg = JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as PackageJson;

/** A directory holding the unpacked tarball (`<dir>/package/…`) and the files it lists. */
export interface PackedPackage {
  readonly dir: string;
  /** The tarball's files, relative to its root (`dist/src/index.js`, `package.json`, …). */
  readonly files: readonly string[];
  /** Removes the directory. */
  dispose(): void;
}

/** Packs the package into a temporary directory and unpacks it there. */
export function packPackage(): PackedPackage {
  const dir = mkdtempSync(join(tmpdir(), 'chainsync-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const [{ filename, files }] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
  execFileSync('tar', ['xzf', join(dir, filename), '-C', dir]);
  return {
    dir,
    files: files.map((f) => f.path),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A consumer project: `node_modules/chainsync` (the unpacked tarball) and only the packages named. */
export interface Consumer {
  readonly dir: string;
  /** Writes `source` to `<dir>/<name>` and returns its path. */
  write(name: string, source: string): string;
  /** Removes the directory. */
  dispose(): void;
}

/**
 * Makes a consumer directory outside the repo (so nothing resolves from the repo's node_modules)
 * holding a copy of the unpacked package and links to `packages` in the repo's node_modules — the
 * package's dependencies are always linked, as npm would install them.
 */
export function makeConsumer(packed: PackedPackage, packages: readonly string[]): Consumer {
  const dir = mkdtempSync(join(tmpdir(), 'chainsync-consumer-'));
  const modules = join(dir, 'node_modules');
  // An ES module app, as the package (ESM only) requires.
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  cpSync(join(packed.dir, 'package'), join(modules, pkg.name), { recursive: true });
  for (const name of new Set([...Object.keys(pkg.dependencies), ...packages])) {
    const link = join(modules, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(resolve(repoRoot, 'node_modules', name), link, 'dir');
  }
  return {
    dir,
    write(name, source) {
      const file = join(dir, name);
      writeFileSync(file, source);
      return file;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A consumer's compiler settings: a browser app's by default. */
export interface ConsumerEnvironment {
  /** `lib` (default ES2022 + DOM). */
  readonly lib?: readonly string[];
  /** `types` (default none). */
  readonly types?: readonly string[];
}

/** The compiler's diagnostics, formatted; `[]` when the files type-check. */
export function typeCheck(files: readonly string[], environment: ConsumerEnvironment = {}): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    lib: (environment.lib ?? ['ES2022', 'DOM', 'DOM.Iterable']).map((lib) => `lib.${lib.toLowerCase()}.d.ts`),
    types: [...(environment.types ?? [])],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  // The libs (lib.dom.d.ts alone is megabytes) are parsed once per process, not once per check.
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    if (!fileName.includes('/typescript/lib/')) return getSourceFile(fileName, languageVersion, ...rest);
    const key = `${fileName}:${JSON.stringify(languageVersion)}`;
    let file = libFiles.get(key);
    if (!file) libFiles.set(key, (file = getSourceFile(fileName, languageVersion, ...rest)));
    return file;
  };
  const program = ts.createProgram({ rootNames: [...files], options, host });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.formatDiagnostic(d, formatHost));
}

const libFiles = new Map<string, ts.SourceFile | undefined>();

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => '\n',
};
