/**
 * Types flow end to end: a typed collection gives typed query data, typed cache reads and typed
 * mutation variables. The `expectTypeOf` and `@ts-expect-error` lines are checked by `tsc`
 * (`npm run typecheck`): a regression breaks the build. The runtime assertions check the same
 * values really arrive.
 */
import { MutationObserver, QueryClient, QueryObserver } from '@tanstack/query-core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { bindQueryClient } from './binding.js';
import { defineCollection, type CollectionData, type CollectionItem } from './collection.js';
import { replicaMutations, type CreateVariables } from './mutations.js';
import { replicaQueries } from './options.js';
import { openReplicas, until } from '../test-support/query-helpers.js';

interface Task {
  title: string;
  done: boolean;
  tags?: string[];
}

describe('chainsync/query: types', () => {
  it('a typed collection gives typed query data, cache reads and mutations', async () => {
    const tasks = defineCollection<Task>('tasks');
    expectTypeOf<CollectionData<typeof tasks>>().toEqualTypeOf<Task>();
    const { replicas } = await openReplicas(1);
    const replica = replicas[0]!;
    const client = new QueryClient();
    const binding = bindQueryClient(client, replica);
    const queries = replicaQueries(replica);
    const mutations = replicaMutations(replica, { binding });

    await new MutationObserver(client, mutations.create(tasks)).mutate({
      id: 't',
      data: { title: 'typed', done: false, tags: ['a'] },
    });
    type CreateVars = Parameters<ReturnType<typeof mutations.create<Task>>['mutationFn']>[0];
    type UpdateVars = Parameters<ReturnType<typeof mutations.update<Task>>['mutationFn']>[0];
    expectTypeOf<CreateVars>().toEqualTypeOf<CreateVariables<Task>>();
    // @ts-expect-error: `done` must be a boolean
    const wrongType: CreateVars = { id: 'u', data: { title: 'x', done: 'no' } };
    // @ts-expect-error: `title` is required on create
    const missing: CreateVars = { id: 'u', data: { done: true } };
    // @ts-expect-error: `owner` is not a Task property
    const unknownProperty: UpdateVars = { id: 't', set: { owner: 'me' } };
    expect([wrongType, missing, unknownProperty]).toHaveLength(3); // type-level checks only: nothing is written

    const object = new QueryObserver(client, queries.object(tasks, 't'));
    const result = await until(object, (r) => r.isSuccess);
    object.subscribe(() => {})();
    expectTypeOf(result.data).toEqualTypeOf<Task | null | undefined>();
    expect(result.data).toEqual({ title: 'typed', done: false, tags: ['a'] });

    const fetched = await client.fetchQuery(queries.collection(tasks));
    expectTypeOf(fetched).toEqualTypeOf<CollectionItem<Task>[]>();
    expect(fetched[0]?.data.tags).toEqual(['a']);

    const open = queries.list(tasks, { key: 'open', where: (item) => !item.data.done });
    expectTypeOf(client.getQueryData(open.queryKey)).toEqualTypeOf<CollectionItem<Task>[] | undefined>();
    // @ts-expect-error: list items are CollectionItem<Task>, which have no `title` at the top
    queries.list(tasks, { key: 'bad', where: (item) => item.title === '' });
  });
});
