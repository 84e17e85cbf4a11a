/**
 * A demo of its own (`node demo/serve.mjs`, free ports, its own reference server): the production
 * build, for a test that deploys a new version under an open tab (SIGUSR2 makes it rebuild in
 * place); or the dev server, as `npm run demo` starts it.
 */
import { spawn } from 'node:child_process';

export interface DemoProcess {
  /** The demo's base URL, ending in `/`. */
  readonly url: string;
  /** Builds and serves the next version; resolves once it is served. Returns its number. Build only. */
  deploy(): Promise<number>;
  stop(): Promise<void>;
}

export function startDemoProcess(mode: 'build' | 'dev' = 'build'): Promise<DemoProcess> {
  const { DEMO_BUILD: _build, ...env } = process.env;
  const child = spawn(process.execPath, ['demo/serve.mjs'], {
    env: { ...env, ...(mode === 'build' ? { DEMO_BUILD: '1' } : {}), PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const check of waiters) check();
  });
  /** Resolves with the first match of `pattern` in the output after `from`. */
  const waitFor = (pattern: RegExp, from: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = out.slice(from).match(pattern);
        if (!match) return;
        waiters.delete(check);
        resolve(match);
      };
      waiters.add(check);
      child.once('exit', (code) => reject(new Error(`the demo exited with ${String(code)}:\n${out}`)));
      check();
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return waitFor(/chainsync demo: (http:\S+)/, 0).then(
    ([, url]) => ({
      url: url!,
      async deploy() {
        if (mode !== 'build') throw new Error('only a demo started as a build can deploy a new version');
        const from = out.length;
        child.kill('SIGUSR2');
        const [, version] = await waitFor(/chainsync demo: built version (\d+)/, from);
        return Number(version);
      },
      stop,
    }),
    async (error: unknown) => {
      await stop();
      throw error;
    },
  );
}
