// @ts-check
/* global fetch */
/**
 * The baseline's server: a CouchDB-protocol server (express-pouchdb over PouchDB's in-memory
 * adapter) on 127.0.0.1, for PouchDB's live replication in the live-sync benchmark. CORS is
 * answered here, in front of it, for the benchmark page's origin only.
 */
import express from 'express';
import expressPouchDB from 'express-pouchdb';
import PouchDB from 'pouchdb-core';
import http from 'pouchdb-adapter-http';
import memory from 'pouchdb-adapter-memory';
import mapreduce from 'pouchdb-mapreduce';
import replication from 'pouchdb-replication';

/** Plugins patch PouchDB's own prototype: once per process (again throws "Cannot redefine property"). */
const MemoryPouch = PouchDB.plugin(memory).plugin(http).plugin(replication).plugin(mapreduce);

/**
 * Starts the server; resolves with its URL (ending in `/`) and `close`.
 * @param {string} origin the page origin allowed to use it
 * @param {(request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => void} [onRequest]
 *   called for every request (e.g. to count them)
 */
export async function startPouchServer(origin, onRequest) {
  const Pouch = MemoryPouch.defaults({ adapter: 'memory' });
  const app = express();
  app.use((request, response, next) => {
    onRequest?.(request, response);
    if (request.headers.origin === origin) {
      response.setHeader('Access-Control-Allow-Origin', origin);
      response.setHeader('Access-Control-Allow-Credentials', 'true');
      response.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS');
      response.setHeader(
        'Access-Control-Allow-Headers',
        request.headers['access-control-request-headers'] ?? 'Content-Type',
      );
      response.setHeader('Access-Control-Expose-Headers', 'ETag, Content-Type');
      if (request.method === 'OPTIONS') {
        response.statusCode = 204;
        response.end();
        return;
      }
    }
    next();
  });
  app.use('/', expressPouchDB(Pouch, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the PouchDB server did not listen on a port');
  const url = `http://127.0.0.1:${address.port}/`;
  return {
    url,
    /** Creates database `name` (PUT /name). */
    async createDatabase(/** @type {string} */ name) {
      const response = await fetch(url + name, { method: 'PUT' });
      if (response.status !== 201)
        throw new Error(`PUT /${name}: ${response.status} ${await response.text()}`);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
