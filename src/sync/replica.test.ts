import type { ReplicaChangeEvent } from '../contracts/replica.js';
import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../contracts/errors.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { MemoryReplicaStore } from '../memory/memory-replica-store.js';
import { Replica } from './replica.js';

const open = (store = new MemoryReplicaStore()) => Replica.open({ store, clock: () => 7 });

describe('Replica: local changes', () => {
  it('applies changes at once, queues them, and the queue survives reopening the store', async () => {
    const store = new MemoryReplicaStore();
    const r = await open(store);
    await r.create('tasks', 't', { title: 'a', tags: ['x'] });
    await r.update('tasks', 't', { title: 'b', done: false });
    expect(await r.get('tasks', 't')).toEqual({ title: 'b', tags: ['x'], done: false });
    expect(await r.pendingCount()).toBe(5);
    expect((await store.getPending()).map((p) => p.op)).toEqual([
      { type: 'create', collection: 'tasks', id: 't' },
      { type: 'update', collection: 'tasks', id: 't', property: 'title', value: 'a', timestamp: 7 },
      { type: 'update', collection: 'tasks', id: 't', property: 'tags', value: ['x'], timestamp: 7 },
      { type: 'update', collection: 'tasks', id: 't', property: 'title', value: 'b', timestamp: 7 },
      { type: 'update', collection: 'tasks', id: 't', property: 'done', value: false, timestamp: 7 },
    ]);
    const reopened = await open(store);
    expect(await reopened.pendingCount()).toBe(5);
    expect(await reopened.get('tasks', 't')).toEqual({ title: 'b', tags: ['x'], done: false });
  });

  it('removes a property with undefined, deletes objects, lists a collection in id order', async () => {
    const r = await open();
    await r.create('c', 'b', { x: 1, y: 2 });
    await r.create('c', 'a');
    await r.create('other', 'z');
    await r.update('c', 'b', { y: undefined });
    expect(await r.list('c')).toEqual([
      { collection: 'c', id: 'a', properties: {} },
      { collection: 'c', id: 'b', properties: { x: 1 } },
    ]);
    expect(await r.delete('c', 'a')).toBe(true);
    expect(await r.delete('c', 'a')).toBe(false);
    expect(await r.get('c', 'a')).toBeNull();
  });

  it('a batch is all or nothing', async () => {
    const r = await open();
    await r.create('c', 'exists');
    const before = await r.pendingCount();
    await expect(
      r.change([
        { type: 'create', collection: 'c', id: 'new' },
        { type: 'create', collection: 'c', id: 'exists' },
      ]),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(r.update('c', 'missing', { x: 1 })).rejects.toBeInstanceOf(NotFoundError);
    expect(await r.get('c', 'new')).toBeNull();
    expect(await r.pendingCount()).toBe(before);
    await r.change([
      { type: 'create', collection: 'c', id: 'n2', properties: { v: 1 } },
      { type: 'update', collection: 'c', id: 'n2', properties: { v: 2 } },
      { type: 'delete', collection: 'c', id: 'exists' },
    ]);
    expect(await r.get('c', 'n2')).toEqual({ v: 2 });
    expect(await r.get('c', 'exists')).toBeNull();
  });

  it('rejects bad input with InvalidArgumentError and changes nothing', async () => {
    const r = await open();
    const bad: [string, () => Promise<unknown>][] = [
      ['empty collection', () => r.create('', 'x')],
      ['non-string id', () => r.create('c', 5 as never)],
      ['NaN value', () => r.create('c', 'x', { n: Number.NaN })],
      ['a Date value', () => r.create('c', 'x', { d: new Date() as never })],
      ['a function value', () => r.create('c', 'x', { f: (() => 1) as never })],
      ['undefined in create', () => r.create('c', 'x', { u: undefined as never })],
      ['empty property name', () => r.create('c', 'x', { '': 1 })],
      [
        'a cyclic value',
        () => {
          const o: Record<string, unknown> = {};
          o.o = o;
          return r.create('c', 'x', { o: o as never });
        },
      ],
      ['unknown change type', () => r.change([{ type: 'upsert', collection: 'c', id: 'x' } as never])],
      ['changes not an array', () => r.change('x' as never)],
    ];
    for (const [name, call] of bad) {
      await expect(call(), name).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(await r.pendingCount()).toBe(0);
    expect(await r.list('c')).toEqual([]);
    await expect(Replica.open({ store: {} as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      Replica.open({ store: new MemoryReplicaStore(), storage: new MemoryStorage(), clientId: 'nope' }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(r.sync()).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('callers cannot mutate stored data through the values they passed or got', async () => {
    const r = await open();
    const tags = ['a'];
    await r.create('c', 'x', { tags });
    tags.push('mutated');
    const got = (await r.get('c', 'x'))!;
    (got.tags as string[]).push('also mutated');
    expect(await r.get('c', 'x')).toEqual({ tags: ['a'] });
  });

  it('notifies subscribers of local and sync changes, and reports discarded operations', async () => {
    const storage = new MemoryStorage();
    const clientId = crypto.randomUUID();
    let t = 1;
    const a = await Replica.open({ store: new MemoryReplicaStore(), storage, clientId, clock: () => t });
    const b = await Replica.open({ store: new MemoryReplicaStore(), storage, clientId, clock: () => t });
    const events: ReplicaChangeEvent[] = [];
    const stop = b.subscribe((e) => events.push(e));
    await b.create('c', 'x', { v: 'b' });
    expect(events).toEqual([
      { source: 'local', objects: [{ collection: 'c', id: 'x' }], dropped: [], overridden: [] },
    ]);
    await b.sync();
    await a.sync();
    t = 5;
    await a.update('c', 'x', { v: 'a' });
    t = 3;
    await b.update('c', 'x', { v: 'b2' });
    await a.sync();
    events.length = 0;
    await b.sync();
    expect(events).toEqual([
      {
        source: 'sync',
        objects: [{ collection: 'c', id: 'x' }],
        dropped: [{ type: 'update', collection: 'c', id: 'x', property: 'v', value: 'b2', timestamp: 3 }],
        overridden: [],
      },
    ]);
    stop();
    await b.update('c', 'x', { w: 1 });
    expect(events.length).toBe(1);
  });
});
