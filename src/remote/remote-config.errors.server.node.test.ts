/**
 * What a new user sees when the remote they configured is wrong, over the reference server on
 * 127.0.0.1: each message names the setting they wrote (`remote.url`, `remote.token`), not the
 * HTTP backend's internal options, and each situation has its own code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../server/index.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { forgetProbes } from './http/connect.js';
import { openRemote, type HttpRemoteConfig } from './remote-config.js';

const TOKEN = 'the-right-token';
let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-config-errors-'));
  server = await startServer({ dir, port: 0, token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => forgetProbes());

/** A loopback URL nothing listens on: a port the OS gave out and that was closed again. */
async function closedPortUrl(): Promise<string> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as { port: number };
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The first thing a replica does through its remote: read the encryption record. */
const firstRead = (config: HttpRemoteConfig) => openRemote(config).kv.get('anything');

describe('errors of a misconfigured http remote', () => {
  it('a server that is not running is REMOTE_UNREACHABLE, naming remote.url', async () => {
    const url = await closedPortUrl();
    const error = await rejectsWith(firstRead({ kind: 'http', url, prefix: 'p' }), 'REMOTE_UNREACHABLE');
    expect(error.message).toContain(`Could not reach the server at ${url}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('Check remote.url');
    expect(error.message).toContain('CORS');
    expect(error.message).not.toMatch(/options\.|compare-and-swap/);
  });

  it('a missing token and a wrong token say different things, each naming remote.token', async () => {
    const missing = await rejectsWith(
      firstRead({ kind: 'http', url: server.url, prefix: 'p' }),
      'UNAUTHORIZED',
    );
    expect(missing.message).toContain('answered 401');
    expect(missing.message).toContain('set remote.token');
    expect(missing.message).not.toMatch(/options\./);

    const wrong = await rejectsWith(
      firstRead({ kind: 'http', url: server.url, prefix: 'p', token: 'not-the-token' }),
      'UNAUTHORIZED',
    );
    expect(wrong.message).toContain('answered 401');
    expect(wrong.message).toContain('refused remote.token');
    expect(wrong.message).not.toMatch(/options\./);

    await expect(firstRead({ kind: 'http', url: server.url, prefix: 'p', token: TOKEN })).resolves.toBeNull();
  });
});
