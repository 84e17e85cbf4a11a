// @ts-check
/* global URL */
/**
 * Counts a server's requests as it answers them, split by method, status and whether the request
 * asked to be held (`Prefer: wait`, the change signal): the idle-cost figures are counted at the
 * server, not in the browser.
 */
import { createServer, request as forward } from 'node:http';

/**
 * Tallies requests as they arrive, by `"<METHOD> <status>[ held]"` once answered; one still open
 * (a held GET, PouchDB's long-poll `_changes` with its heartbeats) counts as `"<METHOD> open"`.
 */
export class RequestCounts {
  /** @type {Map<string, number>} */
  #counts = new Map();
  /** @type {Map<object, string>} */
  #open = new Map();

  /**
   * Counts `request` now, under its status once `response` is answered.
   * @param {import('node:http').IncomingMessage} request
   * @param {import('node:http').ServerResponse} response
   */
  track(request, response) {
    const held = /\bwait=/.test(String(request.headers.prefer ?? '')) ? ' held' : '';
    const token = {};
    this.#open.set(token, `${request.method} open${held}`);
    const settle = () => {
      // Counted only if it arrived since the last reset (the reset forgets open requests too).
      if (!this.#open.delete(token)) return;
      const key = `${request.method} ${response.writableFinished ? response.statusCode : 'cut'}${held}`;
      this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    };
    response.once('close', settle);
  }

  /** Forgets what was counted, open requests included. */
  reset() {
    this.#counts.clear();
    this.#open.clear();
  }

  /** The counts so far, open requests included, most frequent first. @returns {[string, number][]} */
  entries() {
    const all = new Map(this.#counts);
    for (const key of this.#open.values()) all.set(key, (all.get(key) ?? 0) + 1);
    return [...all].sort((a, b) => b[1] - a[1]);
  }

  /** Requests that arrived since the last reset. */
  total() {
    return this.entries().reduce((sum, [, n]) => sum + n, 0);
  }
}

/**
 * A counting proxy on 127.0.0.1 in front of `target` (a URL ending in `/`): forwards every request
 * as it came (Host, Origin and all) and counts it. Adds one loopback hop; used for idle cost only.
 * @param {string} target
 */
export async function countingProxy(target) {
  const counts = new RequestCounts();
  const upstream = new URL(target);
  const server = createServer((request, response) => {
    counts.track(request, response);
    const outgoing = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(response);
      },
    );
    outgoing.on('error', () => response.destroy());
    // A client that goes away (a held request cut) ends the request upstream too.
    response.once('close', () => outgoing.destroy());
    request.pipe(outgoing);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the counting proxy did not listen on a port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
