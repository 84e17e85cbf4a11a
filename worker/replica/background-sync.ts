import { InvalidArgumentError } from '../../src/contracts/errors.js';
import { isCryptoKey } from '../../src/sync/crypto.js';
import type { RemoteFunction } from '../../src/remote/remote-functions.js';
import type { IdbBackgroundSync } from '../idb/idb-background-sync.js';
import type { HostedReplicaOptions } from './hosted-replica-options.js';

/** The Background Sync tag of the store `name`: what the page registers and `chainsync/sw` answers. */
export function backgroundSyncTag(name: string): string {
  return `${BACKGROUND_SYNC_TAG_PREFIX}${name}`;
}

/** Every tag chainsync registers starts with this. */
export const BACKGROUND_SYNC_TAG_PREFIX = 'chainsync:';

/**
 * Keeps the store's background-sync record in step with the options a page opened the replica
 * with: written when it opts in (options as plain data, never the secret; a key kept from an
 * earlier sync of the same data set stays), removed when it does not. Returns whether the key a
 * sync derives should be kept in it.
 * @throws InvalidArgumentError when the app opts in with a credentials or token function.
 */
export async function recordBackgroundSync(
  record: IdbBackgroundSync,
  options: HostedReplicaOptions,
  remoteFunction: RemoteFunction | undefined,
): Promise<boolean> {
  if (options.backgroundSync !== true || !options.remote) {
    await record.delete();
    return false;
  }
  if (remoteFunction !== undefined) {
    throw new InvalidArgumentError(
      'options.backgroundSync',
      "a service worker cannot call the page's credentials or token function once the page is closed: give the remote a token string (or none), or leave backgroundSync off.",
    );
  }
  const { secret, backgroundSync: _on, schedule: _schedule, ...plain } = options;
  await record.write({ options: plain, encrypted: secret !== undefined, key: await keyFor(record, options) });
  return secret !== undefined && !isCryptoKey(secret);
}

/**
 * The key to keep for `options`: the one given, else the one an earlier sync of the same data set
 * derived (so reopening does not lose it until the next sync), else none.
 */
async function keyFor(record: IdbBackgroundSync, options: HostedReplicaOptions): Promise<CryptoKey | null> {
  const { secret } = options;
  if (secret === undefined) return null;
  if (isCryptoKey(secret)) return secret;
  const existing = await record.read();
  return existing?.options.clientId === options.clientId ? existing.key : null;
}
