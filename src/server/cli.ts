#!/usr/bin/env node
/**
 * `chainsync-server --dir <path> --port <n> [options]` (see cli-usage.ts, or `--help`)
 *
 * Prints the base URL on stdout once it is listening (one line, nothing else on stdout), logs to
 * stderr, exits 2 on bad arguments and 3 when another server holds the directory, and shuts down
 * cleanly (exit 0) on SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError, isChainsyncError } from '../contracts/errors.js';
import { FLAG_OF, USAGE } from './cli-usage.js';
import { startServer } from './server.js';
import type { ServerOptions } from './server-options.js';

/** Exit status when another server holds the directory: not a usage error, so no usage text. */
const EXIT_DIRECTORY_IN_USE = 3;

function fail(message: string): never {
  process.stderr.write(`chainsync-server: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/**
 * The refusal of an option in the words of the command line: `Invalid allowOrigins: …` becomes
 * `Invalid --allow-origin: …`, and options named in the message (`requestTimeoutMs`) become flags.
 * Only camel-case names are replaced in the text: `host` or `port` there are ordinary words.
 */
function invalidFlag(error: InvalidArgumentError): string {
  const flagOf = (option: string): string => FLAG_OF[option as keyof ServerOptions] ?? option;
  const prefix = `Invalid ${error.argument}: `;
  const reason = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  const named = Object.keys(FLAG_OF).filter((option) => /[A-Z]/.test(option));
  return `Invalid ${flagOf(error.argument)}: ${named.reduce(
    (text, option) => text.replaceAll(option, flagOf(option)),
    reason,
  )}`;
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
        'allow-origin': { type: 'string', multiple: true },
        'allowed-host': { type: 'string', multiple: true },
        'headers-timeout-ms': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'idle-timeout-ms': { type: 'string' },
        'max-connections': { type: 'string' },
        'no-change-signal': { type: 'boolean' },
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
      allowOrigins: values['allow-origin'],
      allowedHosts: values['allowed-host'],
      headersTimeoutMs: integer(values['headers-timeout-ms'], '--headers-timeout-ms'),
      requestTimeoutMs: integer(values['request-timeout-ms'], '--request-timeout-ms'),
      idleTimeoutMs: integer(values['idle-timeout-ms'], '--idle-timeout-ms'),
      maxConnections: integer(values['max-connections'], '--max-connections'),
      changeSignal: values['no-change-signal'] === true ? false : undefined,
    });
  } catch (error) {
    if (error instanceof InvalidArgumentError) fail(invalidFlag(error));
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

  console.error(`chainsync-server: serving ${values.dir} at ${server.url}`);
  console.error(`chainsync-server: ${server.exposure}. SIGTERM or Ctrl-C stops it.`);
  process.stdout.write(`${server.url}\n`);
}

main().catch((error: unknown) => {
  console.error('chainsync-server:', error instanceof Error ? error.message : error);
  process.exit(1);
});
