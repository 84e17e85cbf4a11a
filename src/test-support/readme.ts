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
