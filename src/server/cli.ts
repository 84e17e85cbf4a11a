#!/usr/bin/env node
/**
 * `chainsync-server --dir <path> --port <n> [--host <addr>] [--token <secret>] [--max-body-bytes <n>]`
 *
 * Prints the base URL on stdout once it is listening (one line, nothing else on stdout), logs to
 * stderr, exits 2 on bad arguments and 3 when another server holds the directory, and shuts down
 * cleanly (exit 0) on SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { isChainsyncError } from '../contracts/errors.js';
import { DEFAULT_LOCK_TIMINGS } from './directory-lock.js';
import { DEFAULT_MAX_BODY_BYTES, startServer } from './server.js';

/** Exit status when another server holds the directory: not a usage error, so no usage text. */
const EXIT_DIRECTORY_IN_USE = 3;
const seconds = (ms: number): string => `${ms / 1000} s`;

const USAGE = `Usage: chainsync-server --dir <path> --port <n> [--host <addr>] [--token <secret>] [--max-body-bytes <n>]

Serves the objects in <path> at http://<host>:<port>/<key>, with strong ETags and atomic
If-Match / If-None-Match, for chainsync replicas.

  --dir <path>          directory holding the objects (created if missing; one server per directory)
  --port <n>            TCP port, 0 for any free one (the URL printed on stdout tells which)
  --host <addr>         address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --token <secret>      require "Authorization: Bearer <secret>" (or set CHAINSYNC_SERVER_TOKEN,
                        which keeps the secret out of the process list)
  --max-body-bytes <n>  largest object accepted (default ${DEFAULT_MAX_BODY_BYTES})
  --help                show this help

One server per directory: the server holds <path>/server.lock.<n> and refreshes it every
${seconds(DEFAULT_LOCK_TIMINGS.heartbeatMs)}. A second server is refused (exit 3) with the holder's pid and host. After a crash,
the next server on the same machine takes the lock over at once, one in another container or on
another machine once the lock has gone ${seconds(DEFAULT_LOCK_TIMINGS.staleAfterMs)} without a refresh. A <path>/server.lock left by
an older chainsync-server that names a running pid is refused too: delete it if no server uses
the directory.

Exit status: 0 after SIGTERM or SIGINT, 2 on bad arguments, 3 when another server holds <path>,
1 on any other failure.
`;

function fail(message: string): never {
  process.stderr.write(`chainsync-server: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) fail(`${option} must be a non-negative integer, got ${JSON.stringify(value)}.`);
  return Number(value);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        dir: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        token: { type: 'string' },
        'max-body-bytes': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.dir === undefined) fail('--dir is required.');
  const port = integer(values.port, '--port');
  if (port === undefined) fail('--port is required.');
  const token = values.token ?? process.env.CHAINSYNC_SERVER_TOKEN;

  let server;
  try {
    server = await startServer({
      dir: values.dir,
      port,
      host: values.host,
      token: token === '' ? undefined : token,
      maxBodyBytes: integer(values['max-body-bytes'], '--max-body-bytes'),
    });
  } catch (error) {
    if (isChainsyncError(error, 'INVALID_ARGUMENT')) fail(error.message);
    if (isChainsyncError(error, 'DIRECTORY_IN_USE')) {
      process.stderr.write(`chainsync-server: ${error.message}\n`);
      process.exit(EXIT_DIRECTORY_IN_USE);
    }
    throw error;
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const closed = server.close(); // Stops listening at once: the log line below means "no new connections".
    console.error(`chainsync-server: ${signal}: finishing requests under way, then exiting.`);
    closed.then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('chainsync-server: shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  console.error(
    `chainsync-server: serving ${values.dir}${token ? ' (bearer token required)' : ''}; SIGTERM or Ctrl-C stops it.`,
  );
  process.stdout.write(`${server.url}\n`);
}

main().catch((error: unknown) => {
  console.error('chainsync-server:', error instanceof Error ? error.message : error);
  process.exit(1);
});
