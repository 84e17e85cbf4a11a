/**
 * An HTTP proxy in front of an object server that can hold one chosen write until the test
 * releases it, and then forwards it even if the browser has gone: a test can close a page while
 * its write is on the wire, and the write still lands (applied, its answer lost).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldingProxy {
  readonly url: string;
  /**
   * Holds the next PUT whose path matches `path`; resolves once it has arrived, with a function
   * that sends it on.
   */
  holdNextWrite(path: RegExp): Promise<() => void>;
  close(): Promise<void>;
}

export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  let hold: { path: RegExp; arrived: (release: () => void) => void } | null = null;
  const forward = (incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse) => {
    const headers = { ...incoming.headers, host: upstream.host };
    const sent = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers },
      (answer) => {
        if (outgoing.destroyed) return void answer.resume(); // the page is gone; the write landed
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    sent.on('error', () => outgoing.destroy());
    sent.end(body);
  };
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const send = () => forward(incoming, Buffer.concat(chunks), outgoing);
      if (hold && incoming.method === 'PUT' && hold.path.test(incoming.url ?? '')) {
        hold.arrived(send);
        hold = null;
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    holdNextWrite: (path) => new Promise((arrived) => (hold = { path, arrived })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
