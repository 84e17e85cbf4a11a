/**
 * The README's programs are copy-pasteable: each complete program in its `## Quickstart` section
 * (a ```ts block that starts with an import; the fragments beside them show one option), and each
 * one elsewhere marked `<!-- type-checked program -->`, is type-checked as a strict consumer's file
 * against the packed package's public types, with the peer dependencies it imports. Run after
 * `npm run build`, as `npm test` does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './test-support/imports.js';
import { makeConsumer, packPackage, pkg, typeCheck } from './test-support/packed-package.js';
import { PROGRAM_MARK, quickstartPrograms, readmePrograms } from './test-support/readme.js';

const readme = readFileSync(resolve(repoRoot, 'README.md'), 'utf8');
const programs = readmePrograms(readme);
const packed = packPackage();
afterAll(() => packed.dispose());

describe('the README extractor', () => {
  const quickstart = '# x\n\n## Quickstart\n\n```ts\nimport { a } from "a";\n```\n\n## Next\n';
  it('takes a marked program after the quickstart’s', () => {
    const marked = `${quickstart}\n${PROGRAM_MARK}\n\n\`\`\`ts\nimport { b } from "b";\n\`\`\`\n`;
    expect(readmePrograms(marked)).toEqual(['import { a } from "a";\n', 'import { b } from "b";\n']);
  });
  it('refuses a mark that would check nothing: prose, or a fragment, after it', () => {
    const prose = `${quickstart}\n${PROGRAM_MARK}\n\nSome text.\n\n\`\`\`ts\nimport { b } from "b";\n\`\`\`\n`;
    expect(() => readmePrograms(prose)).toThrow(/mark 1 .* is not followed by a ts block/);
    const fragment = `${quickstart}\n${PROGRAM_MARK}\n\`\`\`ts\nremote: { kind: 'http' }\n\`\`\`\n`;
    expect(() => readmePrograms(fragment)).toThrow(/starts with an import/);
  });
});

describe('README quickstart', () => {
  it('has a complete program in the quickstart, and marked ones elsewhere', () => {
    expect(quickstartPrograms(readme).length).toBeGreaterThan(0);
    expect(programs.length).toBeGreaterThan(quickstartPrograms(readme).length);
  });

  programs.forEach((code, i) => {
    it(`program ${i + 1} type-checks against the packed package`, { timeout: 120_000 }, () => {
      // The peers it imports, as its reader would install them.
      const imported = [...code.matchAll(/from\s+'([^']+)'/g)].map((match) => match[1]!);
      const peers = Object.keys(pkg.peerDependencies).filter((peer) =>
        imported.some((specifier) => specifier === peer || specifier.startsWith(`${peer}/`)),
      );
      const consumer = makeConsumer(packed, peers);
      try {
        expect(typeCheck([consumer.write('quickstart.ts', code)])).toEqual([]);
      } finally {
        consumer.dispose();
      }
    });
  });
});
