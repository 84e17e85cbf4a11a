/** Installs fake-indexeddb where there is no IndexedDB (Node); the browser keeps its own. */
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
export {};
