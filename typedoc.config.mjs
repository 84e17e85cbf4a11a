// The API reference (`npm run docs`): one module per entry of package.json's `exports`, read from
// it so that a new subpath cannot be left out, each named by its subpath (its `@module` tag).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, 'package.json'), 'utf8'));
const entryPoints = Object.values(pkg.exports)
  .filter((entry) => typeof entry === 'object')
  // ./dist/src/query/index.d.ts → src/query/index.ts: the source the declarations are built from.
  .map((entry) => entry.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'chainsync',
  entryPoints,
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  readme: 'none',
  // Engine internals (@internal) are left out; everything else public must be documented cleanly:
  // a broken {@link} or a public type naming an unexported one fails the build (and npm test).
  excludeInternal: true,
  // No "Defined in" links: they need a git remote TypeDoc can turn into a URL, which a clean
  // checkout (CI's, a fresh clone of a local path, a tarball) may not have, and the missing remote
  // is a warning that fails the build below.
  disableSources: true,
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
};
