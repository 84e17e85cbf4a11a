/**
 * What a new user's worker-hosted replica reports when its configuration is wrong (issue 15, items
 * 5 and 6): a code of its own for each situation, a message naming the setting to change, and the
 * class's real name, after crossing the worker boundary.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { RemoteError } from '../contracts/errors.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { openReplica, type OpenReplicaOptions, type ReplicaClient } from './open-replica.js';

const serverUrl = inject('replicaServerUrl');

const opened: ReplicaClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.close()));
});

async function replica(options: OpenReplicaOptions): Promise<ReplicaClient> {
  const r = await openReplica({ schedule: { intervalMs: 0, debounceMs: 60_000 }, ...options });
  opened.push(r);
  return r;
}

describe("a worker replica's first-hour errors", () => {
  it('a server that cannot be reached is REMOTE_UNREACHABLE, naming remote.url', async () => {
    const r = await replica({
      name: `unreachable-${crypto.randomUUID()}`,
      clientId: crypto.randomUUID(),
      // Chromium refuses port 1: the page sees the same "Failed to fetch" as for a server that is
      // down or an answer CORS blocks.
      remote: { kind: 'http', url: 'http://127.0.0.1:1', prefix: 'p' },
    });
    const error = await rejectsWith(r.sync(), 'REMOTE_UNREACHABLE');
    expect(String(error)).toMatch(
      /^UnreachableRemoteError: Could not reach the server at http:\/\/127\.0\.0\.1:1/,
    );
    expect(error.message).toContain('Check remote.url');
    expect(error.message).toContain('CORS');
    // Across the worker boundary too: the app can tell "no network" from a server's refusal.
    expect((error as RemoteError).network).toBe(true);
  });

  it('a secret given for a data set that was never encrypted is NOT_ENCRYPTED, saying to leave it out', async () => {
    const clientId = crypto.randomUUID();
    const remote = { kind: 'http', url: serverUrl, prefix: `set-${clientId}` } as const;
    const plain = await replica({ name: `plain-${clientId}`, clientId, remote });
    await plain.create('notes', 'n1', { text: 'hello' });
    await plain.sync();
    const withSecret = await replica({ name: `secret-${clientId}`, clientId, remote, secret: 'hunter2' });
    const error = await rejectsWith(withSecret.sync(), 'NOT_ENCRYPTED');
    expect(String(error)).toMatch(/^NotEncryptedError: A secret was given, but this data set/);
    expect(error.message).toContain('without `secret`');
  });
});
