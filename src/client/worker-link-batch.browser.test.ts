/**
 * Coalescing on the main thread through the real engine worker (issue 13 part 1): the messages
 * posted to the worker are counted on the Worker object the store was opened with.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { b, s } from '../testing/conformance/support.js';
import { defaultWorker, openStore, type ChainsyncStore } from './open-store.js';

const open: ChainsyncStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});

/** A store whose worker counts the requests posted to it (comlink's APPLY messages). */
async function countedStore() {
  const posted: { type?: string; path?: string[] }[] = [];
  const store = await openStore(`batch-${crypto.randomUUID()}`, {
    worker: () => {
      const worker = defaultWorker();
      const post = worker.postMessage.bind(worker) as (message: unknown, transfer: Transferable[]) => void;
      worker.postMessage = (
        message: { type?: string },
        transfer?: Transferable[] | StructuredSerializeOptions,
      ) => {
        post(message, (transfer ?? []) as Transferable[]);
        posted.push(message);
      };
      return worker;
    },
  });
  open.push(store);
  return { store, requests: () => posted.filter((m) => m.type === 'APPLY').length };
}

describe('the store client: calls issued in one task', () => {
  it('1,000 puts and their refusals cross to the worker in one message, each with its own outcome', async () => {
    const { store, requests } = await countedStore();
    await store.kv.put('taken', b('here'));
    const before = requests();
    const N = 1_000;
    const settled = await Promise.allSettled([
      ...Array.from({ length: N }, (_, i) => store.kv.put(`k${String(i).padStart(4, '0')}`, b(`${i}`))),
      store.kv.create('taken', b('refused')),
      store.consensus.compareAndSet('log', null, { seqno: 0n, data: b('c') }),
    ]);
    expect(requests() - before).toBe(1);
    expect(settled.slice(0, N).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(settled[N]?.status === 'rejected' && (settled[N].reason as { code: string }).code).toBe(
      'ALREADY_EXISTS',
    );
    expect(settled[N + 1]).toEqual({ status: 'fulfilled', value: 'Committed' });
    const items = await store.kv.scan('k');
    expect(items.map((item) => s(item.value))).toEqual(Array.from({ length: N }, (_, i) => `${i}`));
  });

  it('a lone put crosses alone, within the microtask it was issued in', async () => {
    const { store, requests } = await countedStore();
    const before = requests();
    const put = store.kv.put('alone', b('1'));
    await Promise.resolve();
    expect(requests() - before).toBe(1);
    await put;
    expect(s((await store.kv.get('alone'))?.value)).toBe('1');
  });
});
