/* global console, process */
/**
 * Lets Playwright drive Debian's Firefox ESR (TOOLCHAIN.md): Playwright's WebDriver BiDi route
 * sends `emulation.setMediaFeaturesOverride` while it sets up every context and page, a command
 * Firefox ESR 153 does not know, so `newContext()` failed with "unknown command". The patch lets
 * exactly those two calls fail quietly (they only emulate `prefers-color-scheme`, which no test
 * uses). Run by `npm ci` / `npm install` (the `prepare` script), idempotent, and pinned: on any
 * other playwright-core version, or when the expected code is not found, it fails loudly so an
 * upgrade re-checks whether the patch is still needed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PINNED = '1.65.1';
const MARK = '/* chainsync: unknown to Firefox ESR */';
const require = createRequire(import.meta.url);
let root;
try {
  root = dirname(require.resolve('playwright-core/package.json'));
} catch {
  process.exit(0); // installed without the dev dependencies: nothing drives Firefox
}
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
if (version !== PINNED) {
  throw new Error(
    `scripts/patch-playwright-firefox.mjs is pinned to playwright-core ${PINNED}, found ${version}: ` +
      'check whether Firefox still needs it (see the comment at its top) and update PINNED.',
  );
}

const file = join(root, 'lib', 'coreBundle.js');
const source = readFileSync(file, 'utf8');
const call =
  /await (this\._(?:session|browser\._browserSession))\.send\("emulation\.setMediaFeaturesOverride", (\{[^}]*\{[^}]*\}[^}]*\})\);/g;
let count = 0;
const patched = source.replace(call, (_match, session, args) => {
  count++;
  return `await ${session}.send("emulation.setMediaFeaturesOverride", ${args}).catch(() => {}) ${MARK};`;
});
if (count === 0 && source.includes(MARK)) process.exit(0); // patched already
if (count !== 2) {
  throw new Error(
    `scripts/patch-playwright-firefox.mjs expected 2 calls of emulation.setMediaFeaturesOverride in ${file}, found ${count}.`,
  );
}
writeFileSync(file, patched);
console.log(
  `patched ${count} emulation.setMediaFeaturesOverride calls in playwright-core ${version} for Firefox ESR`,
);
