/**
 * chainsync/query with a real QueryClient over real replicas: queries read the local replica
 * (offline too), and the binding updates exactly the queries a change affects — local writes,
 * pulled remote changes, snapshot resets — with rebase, not rollback code, settling conflicts.
 */
import { MutationObserver, onlineManager, QueryClient } from '@tanstack/query-core';
import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyExistsError, InvalidArgumentError } from '../contracts/errors.js';
import { bindQueryClient } from './binding.js';
import { defineCollection } from './collection.js';
import { chainsyncKeys } from './keys.js';
import { replicaMutations } from './mutations.js';
import { replicaQueries } from './options.js';
import type { QueryableReplica } from './replica.js';
import { openReplicas, until, watch } from '../test-support/query-helpers.js';

interface Task {
  title: string;
  done: boolean;
  priority?: number;
}
const tasks = defineCollection<Task>('tasks');

/** Counts queryFn calls per query: the proof that a change refetched (or did not refetch) it. */
function counted<T extends { queryFn: () => Promise<unknown> }>(options: T, calls: { n: number }): T {
  return { ...options, queryFn: () => (calls.n++, options.queryFn()) };
}

async function setup() {
  const { replicas } = await openReplicas(1);
  const replica = replicas[0]!;
  const client = new QueryClient();
  client.mount();
  const binding = bindQueryClient(client, replica);
  const queries = replicaQueries(replica);
  const mutations = replicaMutations(replica, { binding });
  return { replica, client, binding, queries, mutations };
}

afterEach(() => onlineManager.setOnline(true));

describe('chainsync/query: queries and binding', () => {
  it('the engine Replica satisfies QueryableReplica', async () => {
    const { replicas } = await openReplicas(1);
    const replica: QueryableReplica = replicas[0]!; // a type error here breaks the build
    expect(typeof replica.subscribe).toBe('function');
  });

  it('reads from the local replica while offline, with no network wait', async () => {
    const { replica, client, queries, mutations } = await setup();
    await replica.create('tasks', 'a', { title: 'write tests', done: false });
    onlineManager.setOnline(false);
    const object = watch(client, queries.object(tasks, 'a'));
    const all = watch(client, queries.collection(tasks));
    expect((await until(object.observer, (r) => r.isSuccess)).data).toEqual({
      title: 'write tests',
      done: false,
    });
    expect((await until(all.observer, (r) => r.isSuccess)).data).toEqual([
      { id: 'a', data: { title: 'write tests', done: false } },
    ]);
    // Mutations run offline too (networkMode 'always'): not paused until the network returns.
    const create = new MutationObserver(client, mutations.create(tasks));
    await create.mutate({ id: 'b', data: { title: 'offline', done: false } });
    expect(all.data()?.map((i) => i.id)).toEqual(['a', 'b']);
    expect(await client.fetchQuery(queries.object(tasks, 'missing'))).toBeNull();
  });

  it('a change to object A updates A and its lists, and does not refetch or touch B', async () => {
    const { replica, client, binding, queries } = await setup();
    await replica.change([
      { type: 'create', collection: 'tasks', id: 'a', properties: { title: 'A', done: false } },
      { type: 'create', collection: 'tasks', id: 'b', properties: { title: 'B', done: false } },
      { type: 'create', collection: 'notes', id: 'n', properties: { text: 'other collection' } },
    ]);
    const calls = { a: { n: 0 }, b: { n: 0 }, open: { n: 0 }, notes: { n: 0 } };
    const a = watch(client, counted(queries.object(tasks, 'a'), calls.a));
    const b = watch(client, counted(queries.object(tasks, 'b'), calls.b));
    const notes = defineCollection<{ text: string }>('notes');
    const noteList = watch(client, counted(queries.collection(notes), calls.notes));
    const open = watch(
      client,
      counted(
        queries.list(tasks, {
          key: 'open',
          where: (t) => !t.data.done,
          sort: (x, y) => (x.data.title < y.data.title ? 1 : -1),
        }),
        calls.open,
      ),
    );
    await until(a.observer, (r) => r.isSuccess);
    await until(b.observer, (r) => r.isSuccess);
    await until(noteList.observer, (r) => r.isSuccess);
    await until(open.observer, (r) => r.isSuccess);
    const bBefore = b.observer.getCurrentResult();
    expect(open.data()?.map((i) => i.id)).toEqual(['b', 'a']); // sorted by title, descending

    await replica.update('tasks', 'a', { done: true, title: 'A2' });
    await binding.settled();

    expect(a.data()).toEqual({ title: 'A2', done: true });
    expect(open.data()?.map((i) => i.id)).toEqual(['b']); // A left the filtered list
    const bAfter = b.observer.getCurrentResult();
    expect(calls.b.n).toBe(1); // B's queryFn ran once, when first observed: no refetch
    expect(bAfter.data).toBe(bBefore.data);
    expect(bAfter.dataUpdatedAt).toBe(bBefore.dataUpdatedAt);
    expect(client.getQueryState(queries.object(tasks, 'b').queryKey)?.isInvalidated).toBe(false);
    expect(calls.notes.n).toBe(1); // another collection is untouched
    // A and the list were derived from the change in place, not refetched.
    expect(calls.a.n).toBe(1);
    expect(calls.open.n).toBe(1);

    await replica.delete('tasks', 'b');
    await binding.settled();
    expect(b.data()).toBeNull();
    expect(open.data()).toEqual([]);
    expect(calls.a.n).toBe(1);
  });

  it('typed data: getQueryData is typed by the key, and a validator checks what is read', async () => {
    const { replica, client, binding, queries } = await setup();
    const strict = defineCollection<Task>('tasks', (props, id) => {
      if (typeof props.title !== 'string' || typeof props.done !== 'boolean')
        throw new TypeError(`bad task ${id}`);
      return { title: props.title, done: props.done };
    });
    await replica.create('tasks', 'a', { title: 'ok', done: false });
    const a = watch(client, queries.object(strict, 'a'));
    await until(a.observer, (r) => r.isSuccess);
    const cached: Task | null | undefined = client.getQueryData(queries.object(strict, 'a').queryKey);
    expect(cached?.title).toBe('ok');

    // Another replica (or an older app) wrote data the validator refuses: the query reports it.
    await replica.update('tasks', 'a', { done: 'yes' });
    await binding.settled();
    const failed = await until(a.observer, (r) => r.isError);
    expect(failed.error).toBeInstanceOf(TypeError);
    await replica.update('tasks', 'a', { done: true });
    expect((await until(a.observer, (r) => r.isSuccess && r.data?.done === true)).data).toEqual({
      title: 'ok',
      done: true,
    });
  });

  it('a pulled remote change updates an observer; a snapshot reset refetches everything', async () => {
    const { replicas } = await openReplicas(2);
    const [writer, reader] = replicas as [(typeof replicas)[0] & object, (typeof replicas)[0] & object];
    const client = new QueryClient();
    const binding = bindQueryClient(client, reader);
    const queries = replicaQueries(reader);
    const calls = { a: { n: 0 }, b: { n: 0 } };
    const a = watch(client, counted(queries.object(tasks, 'a'), calls.a));
    const b = watch(client, counted(queries.object(tasks, 'b'), calls.b));
    await until(a.observer, (r) => r.isSuccess && r.data === null);
    await until(b.observer, (r) => r.isSuccess && r.data === null);

    await writer.change([
      { type: 'create', collection: 'tasks', id: 'a', properties: { title: 'remote A', done: false } },
      { type: 'create', collection: 'tasks', id: 'b', properties: { title: 'remote B', done: false } },
    ]);
    await writer.sync();
    expect((await reader.sync()).reset).toBe('bootstrap'); // the reader starts from the snapshot
    await binding.settled();
    expect(a.data()).toEqual({ title: 'remote A', done: false });
    expect(b.data()).toEqual({ title: 'remote B', done: false });
    expect(calls.b.n).toBe(2); // the 'all' event refetched every query once

    await writer.update('tasks', 'a', { done: true });
    await writer.sync();
    expect((await reader.sync()).pulledVersions).toBe(1);
    await binding.settled();
    expect(a.data()).toEqual({ title: 'remote A', done: true });
    expect(calls.b.n).toBe(2); // B was not touched by A's remote change
  });

  it('optimistic writes need no rollback: a lost conflict is corrected by the rebase', async () => {
    let now = 1_000;
    const { replicas } = await openReplicas(2, () => ({ clock: () => now }));
    const [mine, theirs] = replicas as [(typeof replicas)[0] & object, (typeof replicas)[0] & object];
    await mine.create('tasks', 't', { title: 'draft', done: false });
    await mine.sync();
    await theirs.sync();

    const client = new QueryClient();
    const binding = bindQueryClient(client, mine);
    const mutations = replicaMutations(mine, { binding });
    const t = watch(client, replicaQueries(mine).object(tasks, 't'));
    await until(t.observer, (r) => r.isSuccess);

    now = 2_000;
    await new MutationObserver(client, mutations.update(tasks)).mutate({ id: 't', set: { title: 'mine' } });
    expect(t.data()?.title).toBe('mine'); // optimistic: shown at once, before any sync
    now = 3_000;
    await theirs.update('tasks', 't', { title: 'theirs (later)' });
    await theirs.sync();

    const result = await mine.sync();
    expect(result.dropped).toHaveLength(1); // my update lost (earlier timestamp)
    await binding.settled();
    expect(t.data()).toEqual({ title: 'theirs (later)', done: false });
  });

  it('mutations: typed variables, typed errors, nothing written on refusal', async () => {
    const { replica, client, queries, mutations } = await setup();
    const all = watch(client, queries.collection(tasks));
    await until(all.observer, (r) => r.isSuccess);
    const create = new MutationObserver(client, mutations.create(tasks));
    await create.mutate({ id: 'a', data: { title: 'A', done: false, priority: 2 } });
    expect(all.data()).toEqual([{ id: 'a', data: { title: 'A', done: false, priority: 2 } }]);
    await expect(create.mutate({ id: 'a', data: { title: 'again', done: false } })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    expect(create.getCurrentResult().error).toBeInstanceOf(AlreadyExistsError);

    const update = new MutationObserver(client, mutations.update(tasks));
    await update.mutate({ id: 'a', set: { priority: undefined, done: true } }); // undefined removes
    expect(await replica.get('tasks', 'a')).toEqual({ title: 'A', done: true });

    const strict = defineCollection<Task>('tasks', (p) => {
      if (typeof p.title !== 'string' || p.title === '') throw new Error('a task needs a title');
      return p as unknown as Task;
    });
    const createStrict = new MutationObserver(client, mutations.create(strict));
    const refused = createStrict.mutate({ id: 'z', data: { title: '', done: false } });
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(refused).rejects.toThrow(/a task needs a title/);
    expect(await replica.get('tasks', 'z')).toBeNull();

    await new MutationObserver(client, mutations.delete(tasks)).mutate({ id: 'a' });
    await new MutationObserver(client, mutations.change()).mutate([
      { type: 'create', collection: 'tasks', id: 'c', properties: { title: 'C', done: false } },
      { type: 'create', collection: 'tasks', id: 'd', properties: { title: 'D', done: true } },
    ]);
    expect(all.data()?.map((i) => i.id)).toEqual(['c', 'd']);
  });

  it('scopes keep two replicas in one QueryClient apart; dispose stops updates', async () => {
    const {
      replicas: [one],
    } = await openReplicas(1);
    const {
      replicas: [two],
    } = await openReplicas(1);
    const client = new QueryClient();
    const bindOne = bindQueryClient(client, one!, { scope: 'one' });
    const bindTwo = bindQueryClient(client, two!, { scope: 'two' });
    const callsTwo = { n: 0 };
    const q1 = watch(client, replicaQueries(one!, { scope: 'one' }).collection(tasks));
    const q2 = watch(client, counted(replicaQueries(two!, { scope: 'two' }).collection(tasks), callsTwo));
    await until(q1.observer, (r) => r.isSuccess);
    await until(q2.observer, (r) => r.isSuccess);
    expect(q1.observer.getCurrentResult().data).not.toBe(q2.observer.getCurrentResult().data);
    const before2 = q2.observer.getCurrentResult().dataUpdatedAt;

    await one!.create('tasks', 'x', { title: 'in one', done: false });
    await bindOne.settled();
    await bindTwo.settled();
    expect(q1.data()?.map((i) => i.id)).toEqual(['x']);
    expect(q2.data()).toEqual([]);
    expect(q2.observer.getCurrentResult().dataUpdatedAt).toBe(before2);
    expect(callsTwo.n).toBe(1);

    bindOne.dispose();
    bindOne.dispose();
    await one!.create('tasks', 'y', { title: 'unseen', done: false });
    await bindOne.settled();
    expect(q1.data()?.map((i) => i.id)).toEqual(['x']);
    expect(client.getQueryState(chainsyncKeys.collection('tasks', 'one'))?.isInvalidated).toBe(false);
  });

  it('a change during a first fetch is not lost: the stale read is followed by a fresh one', async () => {
    const { replicas } = await openReplicas(1);
    const engine = replicas[0]!;
    await engine.create('tasks', 'a', { title: 'old', done: false });
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    // The first read sees the data before the change and is slow to return, as an IndexedDB read
    // in a worker can be while another tab writes.
    const slow: QueryableReplica = {
      get: async (collection, id) => {
        const value = await engine.get(collection, id);
        if (reads++ === 0) await gate;
        return value;
      },
      list: (collection) => engine.list(collection),
      change: (changes) => engine.change(changes),
      subscribe: (listener) => engine.subscribe(listener),
      sync: () => engine.sync(),
    };
    const client = new QueryClient();
    const binding = bindQueryClient(client, slow);
    const a = watch(client, replicaQueries(slow).object(tasks, 'a'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reads).toBe(1); // the first fetch has read 'old' and waits

    await engine.update('tasks', 'a', { title: 'new' });
    await new Promise((resolve) => setTimeout(resolve, 0)); // the binding has handled the change
    release();
    await binding.settled();
    expect(a.data()).toEqual({ title: 'new', done: false });
  });

  it('rejects bad arguments with typed errors', async () => {
    const { replica, client, queries } = await setup();
    expect(() => defineCollection('')).toThrow(InvalidArgumentError);
    expect(() => replicaQueries({} as QueryableReplica)).toThrow(
      /missing get, list, change, subscribe, sync/,
    );
    expect(() => replicaQueries(replica, { scope: '' })).toThrow(InvalidArgumentError);
    expect(() => queries.object(tasks, '')).toThrow(InvalidArgumentError);
    expect(() => queries.object({ name: 'tasks' } as typeof tasks, 'a')).toThrow(/defineCollection/);
    expect(() => queries.list(tasks, {} as { key: string })).toThrow(/spec.key/);
    expect(() => bindQueryClient({} as QueryClient, replica)).toThrow(/QueryClient/);
    const update = new MutationObserver(client, replicaMutations(replica).update(tasks));
    await expect(update.mutate({ id: '', set: {} })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
