import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { KvChange } from '../../src/contracts/cas-kv.js';
import { openIdbStore } from '../idb/index.js';
import { BroadcastKvChangeFeed } from './change-feed.js';

const b = (text: string) => new TextEncoder().encode(text);
const s = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function twoInstances() {
  const name = `feed-${crypto.randomUUID()}`;
  const open = () => openIdbStore(name, { feed: new BroadcastKvChangeFeed(name) });
  return [open(), open()] as const;
}

async function settle(condition: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('BroadcastKvChangeFeed with IdbCasKv', () => {
  it('delivers another instance’s writes to watchers, re-read from the database', async () => {
    const [a, other] = twoInstances();
    const seen: KvChange[] = [];
    await a.kv.watch('k', (c) => seen.push(c));
    const v = await other.kv.put('k1', b('hello'));
    await other.kv.put('x', b('not watched'));
    await settle(() => seen.length > 0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'put', key: 'k1', version: v });
    a.close();
    other.close();
  });

  it('never ends on a stale value when another instance’s announcement arrives after a newer local write', async () => {
    const [a, other] = twoInstances();
    const seen: KvChange[] = [];
    await a.kv.watch('', (c) => seen.push(c));
    await other.kv.put('k', b('older, from the other tab'));
    const newer = await a.kv.put('k', b('newer, local'));
    await new Promise((r) => setTimeout(r, 100)); // let the other tab's announcement arrive
    const last = seen[seen.length - 1]!;
    expect(last.type === 'put' && s(last.value)).toBe('newer, local');
    expect(last.version).toBe(newer);
    a.close();
    other.close();
  });
});
