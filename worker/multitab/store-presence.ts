/**
 * Who has a store open, so its data can be deleted with nobody using it.
 *
 * Every engine holds a *shared* Web Lock named after its store for as long as the store is open,
 * and listens on the store's deletion channel. Deleting takes the same lock *exclusively*: it is
 * granted once every engine of the store, in every tab and worker, has closed for good (or died),
 * and while it is held no engine can open the store. An engine told of a deletion closes at once,
 * so the deleting tab never waits on another tab's goodwill, and no engine reopens (recreates) the
 * database behind the deletion, which is what IndexedDB's `versionchange` alone would allow.
 */

const PREFIX = 'chainsync:store:';

/** A message on a store's deletion channel. */
interface DeletionMessage {
  readonly kind: 'delete';
}

/** An engine's hold on its store: released when the engine closes. */
export interface StorePresence {
  release(): void;
}

/**
 * Takes a shared hold on store `name`; resolves once held (after any deletion under way finished).
 * `onDeletion` is called once, while the hold is kept, when another tab or worker wants to delete
 * the store's data: close the store for good, then {@link StorePresence.release}.
 */
export function holdStorePresence(name: string, onDeletion: () => void): Promise<StorePresence> {
  const lockName = `${PREFIX}${name}`;
  // Listening starts before the lock is requested: a deleter that queues after us posts after
  // queueing, so we hear it; one that queued before us is found by the query below.
  const channel = new BroadcastChannel(lockName);
  let held = false;
  let told = false;
  const deletion = () => {
    if (!held || told) return; // before the hold is granted, the deletion runs before us anyway
    told = true;
    onDeletion();
  };
  channel.onmessage = (event: MessageEvent<DeletionMessage>) => {
    if (event.data?.kind === 'delete') deletion();
  };
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    navigator.locks
      .request(lockName, { mode: 'shared' }, async () => {
        held = true;
        resolve({
          release: () => {
            channel.close();
            release();
          },
        });
        // A deleter may have queued (and posted) between our subscribing and our grant.
        const { pending = [] } = await navigator.locks.query();
        if (pending.some((lock) => lock.name === lockName && lock.mode === 'exclusive')) deletion();
        await released;
      })
      .catch((error: unknown) => {
        channel.close();
        reject(error);
      });
  });
}

/**
 * Runs `body` once every engine of store `name`, in every tab and worker, has closed: asks them to
 * close, then waits for the exclusive hold, which also keeps the store from being opened until
 * `body` settles. Engines opened meanwhile wait for it and then open what `body` left.
 */
export async function whileStoreClosedEverywhere<T>(name: string, body: () => Promise<T>): Promise<T> {
  const lockName = `${PREFIX}${name}`;
  const done = navigator.locks.request(lockName, { mode: 'exclusive' }, () => body());
  // The lock manager handles one agent's requests in order: once this query answers, our request
  // is queued, so an engine granted after now finds it pending, and one granted before hears this.
  await navigator.locks.query();
  const channel = new BroadcastChannel(lockName);
  channel.postMessage({ kind: 'delete' } satisfies DeletionMessage);
  channel.close();
  return done as Promise<T>;
}
