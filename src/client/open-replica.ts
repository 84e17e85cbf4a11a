import { InvalidArgumentError } from '../contracts/errors.js';
import { assertKey } from '../core/validate.js';
import type { HostedReplicaOptions } from '../../worker/replica/hosted-replica-options.js';
import { ClientReplica, type ReplicaClient } from './client-replica.js';
import { startEngine } from './open-store.js';

export type { ReplicaClient } from './client-replica.js';

/** Options of {@link openReplica}. */
export interface OpenReplicaOptions extends HostedReplicaOptions {
  /** The local store (one IndexedDB database) the replica lives in. */
  readonly name: string;
  /** Makes the engine's module worker (see `OpenStoreOptions.worker`). */
  readonly worker?: () => Worker;
}

/**
 * Opens the replica of store `name` in a new engine worker, over its IndexedDB database. Works
 * offline at once; with `remote`, the tab elected leader (Web Locks) syncs on changes, on coming
 * online and on an interval, backing off after failures.
 * @throws UnsupportedBrowserError if the page lacks a feature the engine needs (nothing is started).
 */
export async function openReplica(options: OpenReplicaOptions): Promise<ReplicaClient> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected { name, clientId, remote?, secret? }.');
  }
  const { name, worker, ...hosted } = options;
  assertKey(name, 'options.name');
  const { link } = await startEngine(name, worker);
  return ClientReplica.open(name, link, hosted);
}
