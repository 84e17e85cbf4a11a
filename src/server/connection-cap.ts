/**
 * The connection cap: each open connection holds a file descriptor (and, during an upload, a
 * temporary file), so unbounded connections let anyone exhaust them and deny service. Over the
 * cap a newcomer is not parsed at all: it is answered 503 at once and closed.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** The 503 sent, as raw bytes, to a connection over the cap (before it sent anything). */
function refusal(maxConnections: number): string {
  const body = JSON.stringify({
    error: 'too_many_connections',
    message:
      `The server already has ${maxConnections} connections open (its --max-connections). ` +
      'Retry in a moment; if this persists, close idle clients or raise the cap.',
  });
  return [
    'HTTP/1.1 503 Service Unavailable',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Retry-After: 1',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

/** What {@link capConnections} returns. */
export interface ConnectionCap {
  /** Ends the refused connections still lingering (at shutdown: they would hold `close()` open). */
  destroyRefused(): void;
}

/**
 * Caps `server` at `maxConnections` open connections. A connection over the cap is answered 503
 * and half-closed; what it sends is drained (closing with unread data would reset the connection
 * and could destroy the answer before the client reads it), and it is destroyed once the client
 * closes its side or after `lingerMs`, whichever comes first.
 */
export function capConnections(server: Server, maxConnections: number, lingerMs: number): ConnectionCap {
  // Node's HTTP server parses a connection from its own 'connection' listener, registered when
  // the server is created: wrap it so that a connection over the cap never reaches the parser.
  const parse = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  const refused = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    if (open >= maxConnections) return refuse(socket);
    open++;
    socket.once('close', () => open--);
    for (const listener of parse) listener.call(server, socket);
  });

  function refuse(socket: Socket): void {
    socket.on('error', () => undefined); // the client may reset it; nothing to do about that
    const linger = setTimeout(() => socket.destroy(), lingerMs);
    linger.unref();
    refused.add(socket);
    socket.once('close', () => {
      clearTimeout(linger);
      refused.delete(socket);
    });
    socket.once('end', () => socket.destroy());
    socket.resume();
    socket.end(refusal(maxConnections));
  }

  return {
    destroyRefused: () => {
      for (const socket of refused) socket.destroy();
    },
  };
}
