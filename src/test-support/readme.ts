/** Test support: the README's code, as its reader copies it. */

/** The complete programs of the README's quickstart section. */
export function quickstartPrograms(readme: string): string[] {
  const start = readme.indexOf('\n## Quickstart\n');
  if (start < 0) throw new Error('README.md has no "## Quickstart" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
    .map((match) => match[1]!)
    .filter((code) => /^import\s/.test(code));
}

/**
 * Marks a complete program outside the quickstart (whose programs need no mark), on the line
 * before its ```ts block. Invisible on the rendered page.
 */
export const PROGRAM_MARK = '<!-- type-checked program -->';

/** The README's complete programs: the quickstart's, then every marked one, in order. */
export function readmePrograms(readme: string): string[] {
  const marked = readme.split(PROGRAM_MARK).slice(1);
  return [
    ...quickstartPrograms(readme),
    ...marked.map((after, i) => {
      // A mark not followed by a ts block would silently check nothing: refuse it.
      const block = /^\s*^```ts\n([\s\S]*?)^```$/m.exec(after);
      if (!block || block.index !== 0 || !/^import\s/.test(block[1]!)) {
        throw new Error(
          `README.md: mark ${i + 1} (${PROGRAM_MARK}) is not followed by a ts block that starts with an import`,
        );
      }
      return block[1]!;
    }),
  ];
}
