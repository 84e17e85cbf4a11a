/**
 * Test support (Node only): the `chainsync-server` bin as real child processes
 * (`node dist/src/server/cli.js`, built by `npm run build`), for the tests that need a server in a
 * process of its own — to kill it, or to start two at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot, sourcesReachableFrom } from './imports.js';

/** The built bin. */
export const CLI = join(repoRoot, 'dist/src/server/cli.js');

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process of the bin. `stdout()` and `stderr()` return what it printed so far. */
export interface CliProcess {
  readonly process: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<Exit>;
}

/** A server that printed its URL (it listens). */
export interface CliServer extends CliProcess {
  readonly url: string;
}

/**
 * Fails unless the built bin exists and is newer than every source it is made of: a missing or
 * stale build would test the wrong code. Call it in `beforeAll` (it takes no argument: Vitest
 * reads a hook's first parameter as its fixtures).
 */
export function assertFreshBuild(): Promise<void> {
  return assertFreshBuildOf('src/server/cli.ts');
}

/** Fails unless the build of `entry` (a source file) exists and is newer than every source it uses. */
export async function assertFreshBuildOf(entry: string): Promise<void> {
  const output = join(repoRoot, 'dist', entry.replace(/\.ts$/, '.js'));
  const built = await stat(output).catch(() => null);
  if (built === null) throw new Error(`${output} is missing: run \`npm run build\` first (npm test does).`);
  for (const source of sourcesReachableFrom(join(repoRoot, entry))) {
    if ((await stat(source)).mtimeMs > built.mtimeMs) {
      throw new Error(
        `${relative(repoRoot, source)} is newer than ${output}: run \`npm run build\` first (npm test does).`,
      );
    }
  }
}

/**
 * Starts processes of the bin and temporary directories, and removes them all in {@link cleanup}
 * (call it in `afterEach`): processes still running get SIGKILL.
 */
export class CliProcesses {
  readonly #children: ChildProcess[] = [];
  readonly #dirs: string[] = [];

  /** A fresh temporary directory, removed by {@link cleanup}. */
  async tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'chainsync-cli-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** Runs the bin with `args`, collecting its output. */
  run(args: readonly string[], env: Record<string, string> = {}): CliProcess {
    return this.runCommand(process.execPath, [CLI, ...args], env);
  }

  /** Runs `command` (e.g. the bin under a wrapper such as `unshare`), collecting its output. */
  runCommand(command: string, args: readonly string[], env: Record<string, string> = {}): CliProcess {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // 'close', not 'exit': by then stdout and stderr have delivered everything.
    const exited = new Promise<Exit>((resolve) =>
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal })),
    );
    return { process: child, stdout: () => stdout, stderr: () => stderr, exited };
  }

  /** Runs a process expected to end by itself; resolves with its exit and output. */
  async runToExit(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = this.run(args);
    const { code } = await child.exited;
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  }

  /** Starts the server on `dir` (any free port) and resolves once it printed its URL. */
  async startServer(
    dir: string,
    args: readonly string[] = [],
    env: Record<string, string> = {},
  ): Promise<CliServer> {
    const child = this.run(['--dir', dir, '--port', '0', ...args], env);
    const url = await serverUrl(child);
    if (url === null) {
      const { code } = await child.exited;
      throw new Error(`server exited (${code}) before printing its URL: ${child.stderr()}`);
    }
    return { ...child, url };
  }

  /** Kills what is still running and removes the temporary directories. */
  async cleanup(): Promise<void> {
    for (const child of this.#children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of this.#dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The URL a server process prints on its first stdout line once it listens, or `null` when it
 * exits without printing one.
 */
export function serverUrl(child: CliProcess): Promise<string | null> {
  return new Promise((resolve) => {
    const check = (): void => {
      const output = child.stdout();
      if (output.includes('\n')) resolve(output.split('\n')[0]!);
    };
    child.process.stdout!.on('data', check);
    check();
    void child.exited.then(() => {
      check();
      resolve(null);
    });
  });
}
