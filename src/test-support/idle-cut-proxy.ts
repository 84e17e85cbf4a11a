/**
 * A TCP proxy on 127.0.0.1 that closes every connection idle for `idleMs`, as proxies and load
 * balancers do (often after 30-60 s): a held request (the change signal, docs/live-sync.md) sends
 * nothing while it waits, so it is cut. Idleness is measured on injected {@link Timers}: a test
 * moves its clock past `idleMs` to cut, instead of waiting for real time to pass.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Timers } from '../core/timers.js';

/** A running {@link startIdleCutProxy}. */
export interface IdleCutProxy {
  /** Base URL of the proxy: the target's path on the proxy's host and port. */
  readonly url: string;
  /** Connections cut for being idle so far. */
  readonly cuts: number;
  /**
   * Resolves once what a client sent on a connection still open matches `pattern` (a request has
   * passed the proxy): a test waits for the request it means to cut instead of for time.
   */
  sent(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

/**
 * Forwards connections to `target` (an `http://127.0.0.1:<port>/…` URL) and closes both sides of
 * one that carried no byte, either way, for `idleMs` on `timers`.
 */
export async function startIdleCutProxy(
  target: string,
  idleMs: number,
  timers: Timers,
): Promise<IdleCutProxy> {
  const upstream = new URL(target);
  const open = new Set<Socket>();
  /** What each open client connection has sent, as text (requests are small). */
  const sentBy = new Map<Socket, string>();
  const waiting = new Set<{ pattern: RegExp; resolve: () => void }>();
  const matched = () => {
    for (const wait of waiting) {
      if (![...sentBy.values()].some((text) => wait.pattern.test(text))) continue;
      waiting.delete(wait);
      wait.resolve();
    }
  };
  let cuts = 0;
  const server: Server = createServer((client) => {
    const origin = connect(Number(upstream.port), upstream.hostname);
    open.add(client).add(origin);
    sentBy.set(client, '');
    let timer: unknown = null;
    const cut = () => {
      cuts++;
      client.destroy();
      origin.destroy();
    };
    const touch = () => {
      if (timer !== null) timers.clearTimeout(timer);
      timer = timers.setTimeout(cut, idleMs);
    };
    const end = () => {
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      open.delete(client);
      open.delete(origin);
      sentBy.delete(client);
      client.destroy();
      origin.destroy();
    };
    for (const [from, to] of [
      [client, origin],
      [origin, client],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        touch();
        to.write(chunk);
        if (from !== client || !sentBy.has(client)) return;
        sentBy.set(client, sentBy.get(client)! + chunk.toString('latin1'));
        matched();
      });
      from.on('end', () => to.end());
      from.on('error', end);
      from.on('close', end);
    }
    touch();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    get cuts() {
      return cuts;
    },
    sent: (pattern) =>
      new Promise((resolve) => {
        waiting.add({ pattern, resolve });
        matched();
      }),
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
