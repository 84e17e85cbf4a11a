/**
 * The compaction cases (remote-compaction.test.ts) again on chainsync's reference server: a real
 * HTTP server on 127.0.0.1 writing to a real directory, reached through connectRemote with LIST
 * (the cases count what is left).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { connectRemote } from './http/connect.js';
import { startServer, type RunningServer } from '../server/index.js';
import { remoteSlot } from '../test-support/remote-sync-suite.js';

// Real round trips on a loaded machine: give the cases room (no timing is asserted).
vi.setConfig({ testTimeout: 120_000 });

let server: RunningServer | undefined;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-compaction-'));
  server = await startServer({ dir, port: 0, token: 'compaction-token' });
  remoteSlot.backend = await connectRemote({
    baseUrl: server.url,
    headers: { authorization: 'Bearer compaction-token' },
    list: 'json',
  });
});
afterAll(async () => {
  remoteSlot.backend = null;
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

await import('./remote-compaction.test.js');
