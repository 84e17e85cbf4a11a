/**
 * `startServer`: the reference ETag server on Node's `http`, serving a directory of objects.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChangeWaits } from '../core/change-waits.js';
import { capConnections } from './connection-cap.js';
import { describeExposure } from './exposure.js';
import { createRequestHandler } from './http-handler.js';
import { ObjectStore } from './object-store.js';
import { resolveServerOptions, type ServerOptions } from './server-options.js';

/** How long {@link RunningServer.close} lets requests under way finish before cutting them off. */
const SHUTDOWN_GRACE_MS = 10_000;

/** A listening server. */
export interface RunningServer {
  /** Base URL ending in `/`: object `<key>` is at `${url}<key>`. */
  readonly url: string;
  /**
   * How it is exposed, in one line for its start-up log: where it listens, whether it needs a
   * token, which `Host` names and which web pages it serves.
   */
  readonly exposure: string;
  /**
   * Requests the change signal holds right now (conditional GETs with `Prefer: wait`, waiting for
   * their object to change; at most half of `maxConnections`). For monitoring and tests.
   */
  readonly heldRequests: number;
  /**
   * Stops accepting connections, lets requests under way finish (cut off after 10 s), waits for
   * their writes to be durable and releases the directory. Idempotent.
   */
  close(): Promise<void>;
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
  const settings = resolveServerOptions(options);
  const { dir, port, host } = settings;
  const store = await ObjectStore.open(dir);
  let closing = false;
  // Held requests take at most half the connection cap: writers always find a connection.
  const waits = new ChangeWaits(settings.maxConnections);
  const unsubscribe = store.onChange((key) => waits.changed(key));
  const handler = createRequestHandler({ ...settings, store, waits, isClosing: () => closing });
  const server = createServer(
    {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      keepAliveTimeout: settings.idleTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default, so a 20 s timeout
      // would hold a connection for up to 50 s): check well within the shorter one.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(settings.headersTimeoutMs / 4))),
    },
    handler,
  );
  const cap = capConnections(server, settings.maxConnections, settings.headersTimeoutMs);
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
      cap.destroyRefused();
      // Held requests answer now (their connection closes after): they would hold close() open.
      waits.close();
      unsubscribe();
      const deadline = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      deadline.unref();
      await stopped;
      clearTimeout(deadline);
      await store.close();
    })());

  return {
    url: urlOf(server),
    exposure: describeExposure(settings),
    get heldRequests() {
      return waits.held;
    },
    close,
  };
}
