/** The `chainsync-server --help` text, and which flag sets which option of `startServer`. */
import { DEFAULT_LOCK_TIMINGS } from './directory-lock.js';
import {
  DEFAULT_CONNECTION_LIMITS as LIMITS,
  DEFAULT_MAX_BODY_BYTES,
  type ServerOptions,
} from './server-options.js';

const seconds = (ms: number): string => `${ms / 1000} s`;

/** The flag of each option, to name it in an error message. */
export const FLAG_OF: Partial<Record<keyof ServerOptions, string>> = {
  dir: '--dir',
  port: '--port',
  host: '--host',
  token: '--token',
  maxBodyBytes: '--max-body-bytes',
  allowedHosts: '--allowed-host',
  allowOrigins: '--allow-origin',
  headersTimeoutMs: '--headers-timeout-ms',
  requestTimeoutMs: '--request-timeout-ms',
  idleTimeoutMs: '--idle-timeout-ms',
  maxConnections: '--max-connections',
  changeSignal: '--no-change-signal',
};

export const USAGE = `Usage: chainsync-server --dir <path> --port <n> [options]

Serves the objects in <path> at http://<host>:<port>/<key>, with strong ETags and atomic
If-Match / If-None-Match, for chainsync replicas.

  --dir <path>            directory holding the objects (created if missing; one server per directory)
  --port <n>              TCP port, 0 for any free one (the URL printed on stdout tells which)
  --host <addr>           address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --token <secret>        require "Authorization: Bearer <secret>" (or set CHAINSYNC_SERVER_TOKEN,
                          which keeps the secret out of the process list)
  --allow-origin <origin> let web pages from <origin> (e.g. http://localhost:5173) use the server;
                          repeat for more, "*" for any page. Default: none without --token (any
                          site the user visits could read and write), any page with --token (it
                          must know the token). Other pages get 403.
  --allowed-host <name>   also answer requests naming <name> in Host (e.g. the name a reverse proxy
                          forwards; .example.com: the domain and its subdomains); repeatable.
                          Always served: localhost, IP addresses, --host. Others get 421, which
                          stops pages that rebind their own name to this machine (DNS rebinding).
  --max-body-bytes <n>    largest object accepted (default ${DEFAULT_MAX_BODY_BYTES}); every response
                          states it in Chainsync-Max-Object-Bytes
  --headers-timeout-ms <n>  time a client has to send a request's headers, from connecting or
                          from its previous response (default ${LIMITS.headersTimeoutMs}); then 408 and closed
  --request-timeout-ms <n>  time a client has to send a whole request, body included (default
                          ${LIMITS.requestTimeoutMs}); then 408, closed, the partial upload discarded
  --idle-timeout-ms <n>   a keep-alive connection without a request is closed after this long
                          (default ${LIMITS.idleTimeoutMs})
  --max-connections <n>   most connections open at once (default ${LIMITS.maxConnections}); one more gets 503
                          with Retry-After and is closed. Together these stop slow or silent
                          connections (slowloris) from using up the server's file descriptors.
                          Requests held for live sync (GET with Prefer: wait) take at most half.
  --no-change-signal      answer GET with Prefer: wait at once, as a server without live sync's
                          change signal would: replicas then poll (e.g. to measure the fallback)
  --help                  show this help

On start-up it logs on stderr how it is exposed: where it listens, whether a token is needed,
which Host names and which web pages it serves.

One server per directory: the server holds <path>/server.lock.<n> and refreshes it every
${seconds(DEFAULT_LOCK_TIMINGS.heartbeatMs)}. A second server is refused (exit 3) with the holder's pid and host. After a crash,
the next server on the same machine takes the lock over at once, one in another container or on
another machine once the lock has gone ${seconds(DEFAULT_LOCK_TIMINGS.staleAfterMs)} without a refresh. A <path>/server.lock left by
an older chainsync-server that names a running pid is refused too: delete it if no server uses
the directory.

Exit status: 0 after SIGTERM or SIGINT, 2 on bad arguments, 3 when another server holds <path>,
1 on any other failure.
`;
