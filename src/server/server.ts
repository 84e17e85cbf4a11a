/**
 * `startServer`: the reference ETag server on Node's `http`, serving a directory of objects.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../contracts/errors.js';
import { createRequestHandler } from './http-handler.js';
import { ObjectStore } from './object-store.js';

/** Default body limit: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** How long {@link RunningServer.close} lets requests under way finish before cutting them off. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Options of {@link startServer}. */
export interface ServerOptions {
  /**
   * Directory holding the objects; created if missing. One server per directory: a second one is
   * refused, also from another process, container or machine (see `chainsync-server --help`).
   */
  readonly dir: string;
  /** TCP port; 0 picks a free one (read it from {@link RunningServer.url}). */
  readonly port: number;
  /** Address to listen on. Default `127.0.0.1` (loopback only); `0.0.0.0` or `::` to expose it. */
  readonly host?: string;
  /** When set, requests need `Authorization: Bearer <token>` (CORS preflights excepted). */
  readonly token?: string;
  /** Largest accepted object, in bytes. Default {@link DEFAULT_MAX_BODY_BYTES}. */
  readonly maxBodyBytes?: number;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL ending in `/`: object `<key>` is at `${url}<key>`. */
  readonly url: string;
  /**
   * Stops accepting connections, lets requests under way finish (cut off after 10 s), waits for
   * their writes to be durable and releases the directory. Idempotent.
   */
  close(): Promise<void>;
}

function validate(options: ServerOptions): Required<Omit<ServerOptions, 'token'>> & { token?: string } {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected { dir, port, host?, token?, maxBodyBytes? }.');
  }
  const { dir, port, host = '127.0.0.1', token, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options;
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new InvalidArgumentError('dir', 'expected the path of the directory that holds the objects.');
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(
      'port',
      `expected an integer from 0 to 65535 (0: any free port), got ${port}.`,
    );
  }
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidArgumentError('host', 'expected an address to listen on, e.g. 127.0.0.1.');
  }
  if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))) {
    throw new InvalidArgumentError('token', 'expected a non-empty string of visible ASCII characters.');
  }
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new InvalidArgumentError('maxBodyBytes', `expected a non-negative integer, got ${maxBodyBytes}.`);
  }
  return { dir: resolve(dir), port, host, token, maxBodyBytes };
}

function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}/`;
}

/**
 * Starts the reference server: opens (or creates) the object directory and listens.
 * @throws InvalidArgumentError for bad options; DirectoryInUseError when another server holds the
 * directory (the message names it and says what to do); the listen error (e.g. `EADDRINUSE`) when
 * the port is taken.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { dir, port, host, token, maxBodyBytes } = validate(options);
  const store = await ObjectStore.open(dir);
  let closing = false;
  const handler = createRequestHandler({ store, token, maxBodyBytes, isClosing: () => closing });
  const server = createServer(handler);
  // Without this listener Node answers 100 Continue before the handler could refuse the upload.
  server.on('checkContinue', handler);
  // A response that was still being sent when close() began leaves a keep-alive connection that
  // closeIdleConnections() skipped; end it as soon as it goes idle instead of waiting for the client.
  server.on('request', (_request, response: ServerResponse) => {
    response.on('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(port, host, () => {
        server.off('error', rejectListen);
        resolveListen();
      });
    });
  } catch (error) {
    await store.close();
    throw error;
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      // Keep-alive connections with no request under way would hold close() open: end them now.
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      deadline.unref();
      await stopped;
      clearTimeout(deadline);
      await store.close();
    })());

  return { url: urlOf(server), close };
}
