import { InvalidArgumentError, UnsyncedChangesError } from '../contracts/errors.js';
import { assertKey } from '../core/validate.js';
import { countPendingOperations, deleteDatabase, storeDatabaseName } from '../../worker/idb/index.js';
import { whileStoreClosedEverywhere } from '../../worker/multitab/store-presence.js';

/** Options of {@link deleteReplicaData} and `ReplicaClient.deleteLocalData`. */
export interface DeleteLocalDataOptions {
  /**
   * Delete even operations not yet pushed to the remote (they are lost). Default `false`: with
   * pending operations nothing is deleted and the call fails with UNSYNCED_CHANGES.
   */
  readonly discardPending?: boolean;
  /**
   * Called if a connection other than chainsync's (another library, an old version of the app in a
   * tab that does not close on request) keeps the database open: the deletion then completes as
   * soon as that connection closes. Tell the user to close the app's other tabs.
   */
  readonly onBlocked?: () => void;
}

/** Checks the options of {@link deleteReplicaData}. */
export function assertDeleteOptions(options: unknown): asserts options is DeleteLocalDataOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', 'expected { discardPending?, onBlocked? }, or leave it out.');
  }
  const { discardPending, onBlocked, ...rest } = options as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `options.${unknown[0]}`,
      'is not an option; expected discardPending or onBlocked.',
    );
  }
  if (discardPending !== undefined && typeof discardPending !== 'boolean') {
    throw new InvalidArgumentError('options.discardPending', 'expected true or false.');
  }
  if (onBlocked !== undefined && typeof onBlocked !== 'function') {
    throw new InvalidArgumentError('options.onBlocked', 'expected a function.');
  }
}

/** Throws UNSYNCED_CHANGES if `pending` operations of store `name` would be lost and may not be. */
export function refuseUnsynced(name: string, pending: number, options: DeleteLocalDataOptions): void {
  if (pending === 0 || options.discardPending) return;
  throw new UnsyncedChangesError(
    `The local data of "${name}" was not deleted: ${pending} change(s) made on this device have not been synced yet and would be lost. Sync first (until status().pending is 0), or pass { discardPending: true } to delete them too.`,
    pending,
  );
}

/** {@link refuseUnsynced}, counting the pending operations in the database itself. */
async function refuseUnsyncedStored(name: string, options: DeleteLocalDataOptions): Promise<void> {
  if (options.discardPending) return;
  refuseUnsynced(name, await countPendingOperations(storeDatabaseName(name)), options);
}

/**
 * Deletes the local data of replica (store) `name`, without opening it: its IndexedDB database,
 * with its objects, pending queue and blobs. Every tab and worker that has the store open closes
 * first (its replica reports `'deleted'` through `onClosed`, and its later calls fail with
 * STORE_CLOSED); opens started meanwhile wait, then start from empty. The remote is untouched.
 *
 * Operations not yet synced are never lost silently: unless `discardPending` is set, the call fails
 * with UNSYNCED_CHANGES and deletes nothing. The count is taken again once every tab has closed, so
 * an edit made in another tab meanwhile is caught too (those tabs stay closed; reopen them).
 * @throws InvalidArgumentError for a bad name or options; UnsyncedChangesError as above.
 */
export async function deleteReplicaData(name: string, options: DeleteLocalDataOptions = {}): Promise<void> {
  assertKey(name, 'name');
  assertDeleteOptions(options);
  // Checked before asking anyone to close, so a refusal leaves every tab as it was.
  await refuseUnsyncedStored(name, options);
  await whileStoreClosedEverywhere(name, async () => {
    await refuseUnsyncedStored(name, options);
    await deleteDatabase(storeDatabaseName(name), options.onBlocked);
  });
}
