import { expect, test } from '@playwright/test';
import { newSet, openReplicaPage } from './demo-page.js';

test('two replicas edit offline (the same property too), come back online and converge', async ({
  browser,
}) => {
  const set = newSet();
  const a = await openReplicaPage(browser, 'A', set);
  const b = await openReplicaPage(browser, 'B', set);
  await a.addTask('shared task');
  await expect.poll(() => b.state()).toEqual(await a.state());

  await a.setOffline(true);
  await b.setOffline(true);
  await a.setTitle(0, 'title from A');
  await a.toggleDone(0);
  await b.setTitle(0, 'title from B');
  await b.addTask('only on B');
  await expect.poll(() => a.pending()).toBeGreaterThan(0);
  await expect.poll(() => b.pending()).toBeGreaterThan(0);
  expect(await a.state()).not.toEqual(await b.state());

  await a.setOffline(false);
  await b.setOffline(false);
  await expect.poll(async () => [await a.pending(), await b.pending()]).toEqual([0, 0]);
  await expect.poll(async () => JSON.stringify(await a.state())).toBe(JSON.stringify(await b.state()));
  const [shared, onlyB] = (await a.state()) as [string, Record<string, unknown>][];
  // The conflict on the title is resolved one way, the same on both; A's `done` survives.
  expect(['title from A', 'title from B']).toContain(shared![1].title);
  expect(shared![1].done).toBe(true);
  expect(onlyB![1].title).toBe('only on B');
  expect(await b.state()).toEqual(await a.state());
});

test('a reload keeps the data and the pending queue', async ({ browser }) => {
  const set = newSet();
  const a = await openReplicaPage(browser, 'A', set);
  await a.setOffline(true);
  await a.addTask('first');
  await a.addTask('second');
  const state = await a.state();
  const pending = await a.pending();
  expect(pending).toBeGreaterThan(0);
  // The page lists every pending operation (read from the replica's queue).
  await expect(a.page.getByTestId('pending-list').locator('li')).toHaveCount(pending);
  const pendingList = await a.page.getByTestId('pending-list').textContent();

  await a.reload();
  expect(await a.state()).toEqual(state);
  expect(await a.pending()).toBe(pending);
  await expect(a.page.getByTestId('pending-list')).toHaveText(pendingList ?? '');

  await a.setOffline(false);
  await expect.poll(() => a.pending()).toBe(0);
  const b = await openReplicaPage(browser, 'B', set);
  await expect.poll(() => b.state()).toEqual(state);
});
