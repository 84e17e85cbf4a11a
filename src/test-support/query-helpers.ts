/**
 * Helpers for this directory's tests (not part of the public API): real replicas over a memory
 * chain, a replica wrapper that counts calls, and a wait for an observer's result.
 */
import {
  QueryObserver as QueryObserverClass,
  type QueryClient,
  type QueryObserver,
  type QueryObserverOptions,
  type QueryObserverResult,
} from '@tanstack/query-core';
import type { Storage } from '../contracts/storage.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica, type ReplicaOptions } from '../sync/replica.js';
import type { QueryableReplica } from '../query/replica.js';

/** `count` replicas of one data set, each with its own local store, over one remote chain. */
export async function openReplicas(
  count: number,
  extra: (i: number) => Partial<ReplicaOptions> = () => ({}),
): Promise<{ replicas: Replica[]; storage: Storage }> {
  const storage = new MemoryStorage();
  const clientId = crypto.randomUUID();
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    replicas.push(await Replica.open({ store: new MemoryReplicaStore(), storage, clientId, ...extra(i) }));
  }
  return { replicas, storage };
}

/** Wraps a replica, counting `sync()` calls; `failNext` makes the next sync reject. */
export function countingReplica(replica: QueryableReplica) {
  const counts = { sync: 0 };
  let failNext: Error | null = null;
  const wrapped: QueryableReplica & { counts: typeof counts; failNextSync(error: Error): void } = {
    counts,
    failNextSync: (error) => (failNext = error),
    get: (c, id) => replica.get(c, id),
    list: (c) => replica.list(c),
    change: (changes) => replica.change(changes),
    subscribe: (listener) => replica.subscribe(listener),
    sync: async () => {
      counts.sync++;
      const error = failNext;
      failNext = null;
      if (error) throw error;
      return replica.sync();
    },
  };
  return wrapped;
}

/** Resolves with the observer's first result (current or later) that satisfies `accept`. */
export function until<TData, TKey extends readonly unknown[]>(
  observer: QueryObserver<TData, Error, TData, TData, TKey>,
  accept: (result: QueryObserverResult<TData, Error>) => boolean,
): Promise<QueryObserverResult<TData, Error>> {
  return new Promise((resolve) => {
    let done = false;
    const unsubscribe = observer.subscribe((result) => {
      if (!done && accept(result)) {
        done = true;
        queueMicrotask(unsubscribe);
        resolve(result);
      }
    });
    const current = observer.getCurrentResult();
    if (!done && accept(current)) {
      done = true;
      unsubscribe();
      resolve(current);
    }
  });
}

/** An observer kept active (subscribed) until `stop()`, like a mounted component. */
export function watch<TData>(
  client: QueryClient,
  options: QueryObserverOptions<TData, Error, TData, TData, readonly unknown[]>,
) {
  const observer = new QueryObserverClass(client, options);
  const stop = observer.subscribe(() => {});
  return { observer, stop, data: () => observer.getCurrentResult().data };
}
