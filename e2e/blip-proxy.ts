/**
 * An HTTP proxy in front of an object server that cuts, on request, the capability probe's
 * concurrent `If-Match` PUTs (its atomicity race) under one data set's prefix: a network blip
 * exactly where it used to disable sync. Alternately a cut PUT never reaches the server, or reaches
 * it and loses its answer (it lands). Everything else passes through.
 *
 * Control, from a test page (answered with CORS): `GET <url>__blip?prefix=<prefix>&on=1` starts
 * cutting under `/<prefix>/`, `&on=0` stops.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BlipProxy {
  readonly url: string;
  close(): Promise<void>;
}

export async function startBlipProxy(target: string): Promise<BlipProxy> {
  const upstream = new URL(target);
  const cutting = new Set<string>();
  let cuts = 0;
  const forward = (
    incoming: IncomingMessage,
    body: Buffer,
    outgoing: ServerResponse,
    loseAnswer: boolean,
  ) => {
    const headers = { ...incoming.headers, host: upstream.host };
    const sent = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers },
      (answer) => {
        if (loseAnswer) {
          answer.resume(); // the write landed; its answer is lost on the way back
          return void outgoing.socket?.destroy();
        }
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    sent.on('error', () => outgoing.destroy());
    sent.end(body);
  };
  const isRacePut = (incoming: IncomingMessage) => {
    const path = incoming.url ?? '';
    return (
      incoming.method === 'PUT' &&
      incoming.headers['if-match'] !== undefined &&
      /-race-\d+$/.test(path) &&
      [...cutting].some((prefix) => path.startsWith(`/${prefix}/`))
    );
  };
  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    if (url.pathname === '/__blip') {
      const prefix = encodeURIComponent(url.searchParams.get('prefix') ?? '');
      if (url.searchParams.get('on') === '1') cutting.add(prefix);
      else cutting.delete(prefix);
      outgoing.writeHead(204, { 'Access-Control-Allow-Origin': '*' });
      return void outgoing.end();
    }
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!isRacePut(incoming)) return forward(incoming, body, outgoing, false);
      if (cuts++ % 2 === 0) return void outgoing.socket?.destroy(); // lost on the way there
      forward(incoming, body, outgoing, true);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
