/**
 * What openRemote's connection (connected on first use) offers beyond reads and writes, over the
 * reference server on 127.0.0.1: a listing with sizes (`usage`, shown as `status().remote`) and
 * object ages, which remote blob GC needs. Without them a worker-hosted replica could neither show
 * what the server holds nor collect its blobs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../core/bytes.js';
import { startServer, type RunningServer } from '../server/index.js';
import { openRemote } from './remote-config.js';

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-open-remote-listing-'));
  server = await startServer({ dir, port: 0, token: 't' });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('openRemote over the reference server', () => {
  it('lists the data set with sizes (usage), and blob GC finds both a listing and object ages', async () => {
    const clientId = crypto.randomUUID();
    const remote = openRemote({ kind: 'http', url: server.url, token: 't', prefix: 'listing' });
    expect(await remote.usage(clientId)).toEqual({ objects: 0, bytes: 0, versions: 0 });
    const data = utf8('a blob of 25 bytes, exact');
    await remote.blobs.put(data);
    const use = await remote.usage(clientId);
    // The probe leaves nothing under the prefix: the one object is the blob.
    expect(use).toEqual({ objects: 1, bytes: data.byteLength, versions: 0 });
    const report = await remote.blobs.collectGarbage({
      referenced: () => Promise.resolve(new Set()),
      graceMs: 3 * 86_400_000,
    });
    // Young, so kept; and no `unsupported`: the connection lists and states ages.
    expect(report).toEqual({ deleted: 0, more: false });
  });

  it('a server that cannot list: usage is null and blob GC says why, with no error', async () => {
    const remote = openRemote({ kind: 'http', url: `${server.url}nowhere/`, token: 't', prefix: 'p' });
    // The reference server answers `/nowhere/?list=` as an object read (404): no listing there.
    expect(await remote.usage(crypto.randomUUID())).toBeNull();
    const report = await remote.blobs.collectGarbage({
      referenced: () => Promise.resolve(new Set()),
      graceMs: 3 * 86_400_000,
    });
    expect(report).toMatchObject({ deleted: 0, more: false, unsupported: expect.stringMatching(/LIST/) });
  });
});
