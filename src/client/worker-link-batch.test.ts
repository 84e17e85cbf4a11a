/**
 * Coalescing on the main thread (issue 13 part 1): the store's contract calls issued in one task
 * cross to the engine as ONE message and come back in one reply, each with its own result or typed
 * error, run in issue order, their writes in one group commit. The engine side here is the real
 * IndexedDB contracts and the real batch dispatch, exposed with comlink on a MessageChannel in this
 * thread, so messages are counted on the port and transactions on IndexedDB (never by timing).
 * In Node on fake-indexeddb, in the browsers on their own IndexedDB. A real engine worker:
 * worker-link-batch.browser.test.ts.
 */
import { expose } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { b, rejectsWith, s } from '../testing/conformance/support.js';
import { countReadwriteTransactions } from '../test-support/idb-transactions.js';
import { outcomeCodes } from '../test-support/settled.js';
import { expectPutsStored } from '../test-support/kv-puts.js';
import { dispatchBatch } from '../../worker/rpc/call-batch.js';
import { ClientCasKv } from './client-cas-kv.js';
import { ClientConsensus } from './client-consensus.js';
import { WorkerLink } from './worker-link.js';

// Node has no IndexedDB: install fake-indexeddb there; the browser keeps its own.
if (typeof indexedDB === 'undefined') {
  // @ts-expect-error -- side effects only; the package's exports map hides auto.d.ts from this resolution
  await import('fake-indexeddb/auto');
}
const { openIdbStore, together } = await import('../../worker/idb/index.js');

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** comlink's request messages (main thread → engine), as posted. */
interface Posted {
  readonly type: string;
  readonly path: readonly string[];
}

/**
 * A WorkerLink to an engine in this thread: the store's contracts and `batch` as the engine
 * exposes them, over a MessageChannel whose main-thread end counts what is posted on it.
 */
async function linkedStore() {
  const store = openIdbStore(`batch-${crypto.randomUUID()}`);
  await store.kv.get('warm-up'); // the database is open: transactions start synchronously
  const engine = {
    kv: store.kv,
    consensus: store.consensus,
    batch(calls: unknown) {
      return dispatchBatch(this, calls, together);
    },
  };
  const { port1, port2 } = new MessageChannel();
  expose(engine, port2);
  const posted: Posted[] = [];
  const worker = {
    postMessage(message: Posted, transfer: Transferable[] = []) {
      port1.postMessage(message, transfer); // throws DataCloneError before anything is posted
      posted.push(message);
    },
    addEventListener: port1.addEventListener.bind(port1),
    removeEventListener: port1.removeEventListener.bind(port1),
    start: () => port1.start(),
    terminate: () => port1.close(),
  } as unknown as Worker;
  const link = new WorkerLink(worker);
  cleanups.push(async () => {
    worker.terminate();
    port2.close();
    await store.close();
  });
  return {
    kv: new ClientCasKv(link),
    consensus: new ClientConsensus(link),
    link,
    worker,
    /** Requests posted so far (comlink's APPLY messages). */
    messages: () => posted.filter((m) => m.type === 'APPLY'),
  };
}

function countWrites(store: string) {
  const counter = countReadwriteTransactions(store);
  cleanups.push(counter.restore);
  return counter;
}

const key = (i: number) => `k${String(i).padStart(3, '0')}`;

describe('WorkerLink: requests issued in one task', () => {
  it('N puts cross in one message, come back in one reply and commit in one transaction', async () => {
    const { kv, messages } = await linkedStore();
    const writes = countWrites('kv');
    const N = 100;
    const puts = Array.from({ length: N }, (_, i) => kv.put(key(i), b(`v${i}`)));
    const versions = await Promise.all(puts);
    expect(messages()).toHaveLength(1);
    expect(messages()[0]?.path).toEqual(['batch']);
    expect(writes.count()).toBe(1);
    await expectPutsStored(kv, 'k', versions);
  });

  it('each call keeps its own result and typed error: a refusal fails only its own call', async () => {
    const { kv, consensus, messages } = await linkedStore();
    await kv.put('taken', b('here'));
    const before = messages().length;
    const writes = countWrites('kv');
    const settled = await Promise.allSettled([
      kv.put('a', b('1')),
      kv.create('taken', b('refused')),
      kv.update('a', b('stale'), 'not-a-version'),
      kv.get(''), // refused by the engine's own validation
      consensus.compareAndSet('log', null, { seqno: 0n, data: b('c') }),
      kv.get('taken'),
      kv.put('b', b('2')),
    ]);
    expect(messages().length - before).toBe(1);
    expect(writes.count()).toBe(1);
    expect(outcomeCodes(settled)).toEqual([
      null,
      'ALREADY_EXISTS',
      'REVISION_MISMATCH',
      'INVALID_ARGUMENT',
      null,
      null,
      null,
    ]);
    expect((settled[4] as PromiseFulfilledResult<unknown>).value).toBe('Committed');
    expect(s((settled[5] as PromiseFulfilledResult<{ value: Uint8Array }>).value.value)).toBe('here');
    expect(await kv.keys()).toEqual(['a', 'b', 'taken']);
  });

  it('an argument that cannot cross fails its own call alone (the others are sent one by one)', async () => {
    const { kv } = await linkedStore();
    const [a, bad, c] = await Promise.allSettled([
      kv.put('a', b('1')),
      kv.get((() => 'not a key') as unknown as string),
      kv.put('c', b('3')),
    ]);
    expect(a.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((bad as PromiseRejectedResult).reason), 'INVALID_ARGUMENT');
    expect(c.status).toBe('fulfilled');
    expect(await kv.keys()).toEqual(['a', 'c']);
  });

  it('calls run in the order they were issued: CAS checks see the calls before them', async () => {
    const { kv, link, messages } = await linkedStore();
    const v0 = await kv.put('u', b('0'));
    await kv.put('gone', b('x'));
    const before = messages().length;
    const [created, second, v1, stale, deleted, recreated, last] = await Promise.allSettled([
      kv.create('c', b('first')),
      kv.create('c', b('second')),
      kv.update('u', b('1'), v0),
      kv.update('u', b('stale'), v0),
      kv.delete('gone'),
      kv.create('gone', b('again')),
      kv.put('order', b('request')),
      // A call that is not batched goes after the requests issued before it.
      link.call((r) => r.kv.put('order', b('call'))),
    ]);
    expect(messages().length - before).toBe(2);
    expect(created.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((second as PromiseRejectedResult).reason), 'ALREADY_EXISTS');
    expect(v1.status).toBe('fulfilled');
    await rejectsWith(Promise.reject((stale as PromiseRejectedResult).reason), 'REVISION_MISMATCH');
    expect(deleted).toEqual({ status: 'fulfilled', value: true });
    expect(recreated.status).toBe('fulfilled');
    expect(last.status).toBe('fulfilled');
    expect(s((await kv.get('c'))?.value)).toBe('first');
    expect((await kv.get('u'))?.version).toBe((v1 as PromiseFulfilledResult<string>).value);
    expect(s((await kv.get('gone'))?.value)).toBe('again');
    expect(s((await kv.get('order'))?.value)).toBe('call');
  });

  it('a lone call is sent within the microtask it was issued in, as a batch of one', async () => {
    const { kv, messages } = await linkedStore();
    const writes = countWrites('kv');
    const put = kv.put('alone', b('1'));
    await Promise.resolve();
    expect(messages()).toHaveLength(1);
    expect(messages()[0]?.path).toEqual(['batch']);
    await put;
    expect(writes.count()).toBe(1);
    expect(s((await kv.get('alone'))?.value)).toBe('1');
  });

  it('when the worker is terminated, queued and sent calls reject with WORKER_TERMINATED', async () => {
    const { kv, worker } = await linkedStore();
    const sent = kv.put('sent', b('1'));
    await Promise.resolve();
    const queued = kv.put('queued', b('2'));
    worker.terminate();
    await rejectsWith(sent, 'WORKER_TERMINATED');
    await rejectsWith(queued, 'WORKER_TERMINATED');
    await rejectsWith(kv.put('later', b('3')), 'WORKER_TERMINATED');
  });
});
