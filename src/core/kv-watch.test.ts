import { describe, expect, it } from 'vitest';
import type { KvChange, KvItem } from '../contracts/cas-kv.js';
import { KvWatchHub } from './kv-watch.js';

const v = new Uint8Array([1]);

describe('KvWatchHub', () => {
  it('drops a change that repeats the last one delivered for its key (late feeds, listings)', async () => {
    const hub = new KvWatchHub();
    const listed: KvItem[] = [{ key: 'a', value: v, version: 'v1' }];
    const seen: KvChange[] = [];
    await hub.watch(
      '',
      (c) => seen.push(c),
      async () => listed,
    );
    hub.emit({ type: 'put', key: 'a', value: v, version: 'v1' }); // already listed
    hub.emit({ type: 'put', key: 'a', value: v, version: 'v2' });
    hub.emit({ type: 'put', key: 'a', value: v, version: 'v2' }); // announced twice
    hub.emit({ type: 'delete', key: 'a', version: null });
    hub.emit({ type: 'delete', key: 'a', version: null });
    hub.emit({ type: 'put', key: 'a', value: v, version: 'v3' });
    hub.emit({ type: 'delete', key: 'a', version: null });
    expect(seen.map((c) => `${c.type}:${c.version}`)).toEqual([
      'put:v1',
      'put:v2',
      'delete:null',
      'put:v3',
      'delete:null',
    ]);
  });
});
