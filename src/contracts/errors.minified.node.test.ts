import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, type Rolldown } from 'vite';
import * as source from './errors.js';

/**
 * A consumer's production build minifies chainsync with the rest of the app, which renames classes:
 * `new.target.name` read "me" or "C" there, so `String(error)` said `me: probe PUT …`. This builds
 * a tiny consumer the way Vite builds an app (minified) and checks what its errors say.
 */
describe('errors in a minified consumer build', () => {
  let dir: string;
  let bundled: Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chainsync-minified-'));
    const errors = fileURLToPath(new URL('./errors.ts', import.meta.url));
    const entry = join(dir, 'entry.ts');
    await writeFile(
      entry,
      `import { InvalidArgumentError, DeterminateRemoteError, UnsupportedServerError, reviveError, serializeError } from ${JSON.stringify(errors)};\n` +
        `export * from ${JSON.stringify(errors)};\n` +
        `export const made = () => [\n` +
        `  new InvalidArgumentError('remote.url', 'expected an http(s) URL.'),\n` +
        `  new DeterminateRemoteError('probe PUT x: the server answered 404.'),\n` +
        `  new UnsupportedServerError('no If-Match', ['if-match-put']),\n` +
        `];\n` +
        `export const revived = () => reviveError(structuredClone(serializeError(made()[1])));\n`,
    );
    const output = (await build({
      configFile: false,
      logLevel: 'silent',
      root: dir,
      build: {
        write: false,
        minify: true,
        lib: { entry, formats: ['es'], fileName: 'consumer' },
      },
    })) as Rolldown.RolldownOutput[];
    const chunk = output[0]!.output.find((o) => o.type === 'chunk')!;
    const file = join(dir, 'consumer.mjs');
    await writeFile(file, chunk.code);
    bundled = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('String(error) starts with the real class name', () => {
    const made = (bundled.made as () => Error[])();
    expect(made.map(String)).toEqual([
      'InvalidArgumentError: Invalid remote.url: expected an http(s) URL.',
      'DeterminateRemoteError: probe PUT x: the server answered 404.',
      'UnsupportedServerError: no If-Match',
    ]);
    expect(made[1]!.stack).toMatch(/^DeterminateRemoteError: probe PUT x/);
  });

  it('every error class keeps its name, also across a worker boundary', () => {
    const classes = Object.entries(source).filter(
      ([, value]) => typeof value === 'function' && value.prototype instanceof Error,
    );
    expect(classes.length).toBeGreaterThan(20);
    for (const [name] of classes) {
      const minified = bundled[name] as { prototype: Error } | undefined;
      expect(minified?.prototype.name, name).toBe(name);
    }
    expect(String((bundled.revived as () => Error)())).toBe(
      'DeterminateRemoteError: probe PUT x: the server answered 404.',
    );
  });
});
