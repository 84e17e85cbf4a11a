/**
 * A change feed between tabs: each tab's replica announces its changes on a BroadcastChannel, and
 * every other tab hears them as `remote-tab` events, so its bound queries re-read the data the
 * tabs share (one IndexedDB). Anything BroadcastChannel-shaped works, so the worker client can
 * swap in its own feed.
 */
import { InvalidArgumentError } from '../contracts/errors.js';
import { Subscribable } from '../core/subscribable.js';
import { assertKey } from '../core/validate.js';
import { assertQueryableReplica } from './options.js';
import type { QueryableReplica, QueryChangeEvent, QueryObjectRef } from './replica.js';

/** The part of `BroadcastChannel` the feed uses. */
export interface TabChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** A replica whose change feed includes other tabs' changes. */
export interface TabSharedReplica extends QueryableReplica {
  /** Stops announcing and hearing changes (and closes the channel if the feed opened it). */
  close(): void;
}

/** What travels on the channel. */
interface ChangeMessage {
  readonly chainsync: 'change';
  readonly objects: readonly QueryObjectRef[] | 'all';
}

/**
 * Wraps `replica` so its changes reach other tabs and theirs reach it.
 *
 * @param channel - a BroadcastChannel-shaped object, or a channel name (a BroadcastChannel is
 *   opened, and closed by `close()`). Every tab of one data set must use the same channel.
 */
export function shareChangesAcrossTabs(
  replica: QueryableReplica,
  channel: TabChannel | string,
): TabSharedReplica {
  assertQueryableReplica(replica);
  let owned: BroadcastChannel | null = null;
  if (typeof channel === 'string') {
    assertKey(channel, 'channel');
    channel = owned = new BroadcastChannel(channel);
  } else if (typeof channel?.postMessage !== 'function' || typeof channel.addEventListener !== 'function') {
    throw new InvalidArgumentError(
      'channel',
      'expected a BroadcastChannel (or its shape) or a channel name.',
    );
  }
  const feed: TabChannel = channel;
  const listeners = new Subscribable<QueryChangeEvent>('chainsync/query: a change listener threw');
  let closed = false;

  const unsubscribe = replica.subscribe((event) => {
    // Another tab's write came from that tab: passing it on would echo it back.
    if (event.source !== 'remote-tab' && event.source !== 'tab') {
      const message: ChangeMessage = { chainsync: 'change', objects: event.objects };
      feed.postMessage(message);
    }
    listeners.notify(event);
  });
  const onMessage = (message: MessageEvent) => {
    const objects = changedObjects(message.data);
    if (objects !== null) listeners.notify({ source: 'remote-tab', objects });
  };
  feed.addEventListener('message', onMessage);

  return {
    get: (collection, id) => replica.get(collection, id),
    list: (collection) => replica.list(collection),
    change: (changes) => replica.change(changes),
    sync: () => replica.sync(),
    subscribe: (listener) => listeners.subscribe(listener),
    close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      feed.removeEventListener('message', onMessage);
      owned?.close();
    },
  };
}

/** The changed objects a message names, or `null` if it is not a well-formed change message. */
function changedObjects(data: unknown): readonly QueryObjectRef[] | 'all' | null {
  const m = data as Partial<ChangeMessage> | null;
  if (typeof m !== 'object' || m === null || m.chainsync !== 'change') return null;
  if (m.objects === 'all') return 'all';
  if (!Array.isArray(m.objects)) return null;
  const ok = m.objects.every(
    (o: unknown) =>
      typeof o === 'object' &&
      o !== null &&
      typeof (o as QueryObjectRef).collection === 'string' &&
      typeof (o as QueryObjectRef).id === 'string',
  );
  return ok ? m.objects.map(({ collection, id }) => ({ collection, id })) : null;
}
