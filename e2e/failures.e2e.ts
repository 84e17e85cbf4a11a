import { expect, test } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage } from './demo-page.js';
import { startHoldingProxy } from './holding-proxy.js';
import { startServerProcess } from './server-process.js';

test.afterEach(closeReplicaPages);

test('a server that ignores preconditions is refused with a clear message', async ({ browser }) => {
  const a = await openReplicaPage(browser, 'A', newSet(), { server: 'msw', broken: '1' });
  await a.addTask('never pushed to a broken server');
  await expect(a.page.getByTestId('error')).toBeVisible();
  await expect(a.page.getByTestId('error')).toContainText('UNSUPPORTED_SERVER');
  await expect(a.page.getByTestId('error')).toContainText(/precondition|If-Match/i);
  expect(await a.pending()).toBeGreaterThan(0);
});

test('a wrong encryption secret shows a clear error and overwrites nothing', async ({ browser }) => {
  const set = newSet();
  const a = await openReplicaPage(browser, 'A', set, { secret: 'the right secret' });
  await a.addTask('encrypted');
  await expect.poll(() => a.pending()).toBe(0);
  const state = await a.state();

  const wrong = await openReplicaPage(browser, 'B', set, { secret: 'a wrong secret' });
  await wrong.addTask('must not reach the others');
  await expect(wrong.page.getByTestId('error')).toContainText('WRONG_SECRET');
  expect(await wrong.pending()).toBeGreaterThan(0);

  // The chain still holds only A's data: a replica with the right secret reads exactly it.
  const c = await openReplicaPage(browser, 'C', set, { secret: 'the right secret' });
  await expect.poll(() => c.state()).toEqual(state);
  await expect(c.page.getByTestId('error')).toBeHidden();
});

test('two tabs of one replica: only one syncs, and a write in one appears in the other', async ({
  browser,
}) => {
  const set = newSet();
  const first = await openReplicaPage(browser, 'A', set);
  const second = await openReplicaPage(browser, 'A', set, {}, first.page.context());
  const leaders = async () =>
    Promise.all([first, second].map((tab) => tab.page.getByTestId('sync-state').getAttribute('data-leader')));
  await expect.poll(async () => (await leaders()).sort()).toEqual(['false', 'true']);
  await first.addTask('written in the first tab');
  await expect.poll(() => second.state()).toEqual(await first.state());
  await second.addTask('written in the second tab');
  await expect.poll(() => first.state()).toEqual(await second.state());
  await expect.poll(() => first.pending()).toBe(0);
  const other = await openReplicaPage(browser, 'B', set);
  await expect.poll(() => other.state()).toEqual(await first.state());
});

test('a page closed in the middle of a sync loses nothing, and its push lands once', async ({ browser }) => {
  const server = await startServerProcess();
  // The proxy holds the push's commit until the page is closed, then delivers it: applied, with
  // nobody left to hear the answer.
  const proxy = await startHoldingProxy(server.url);
  try {
    const set = newSet();
    const a = await openReplicaPage(browser, 'A', set, { server: proxy.url });
    await a.setOffline(true);
    for (const title of ['one', 'two', 'three']) await a.addTask(title);
    const state = await a.state();
    const held = proxy.holdNextWrite(/\/chain\/[^/]+\/c\/\d+$/);
    await a.page.getByTestId('offline').click(); // going online starts a sync at once
    const release = await held;
    await a.page.close();
    release();

    const again = await openReplicaPage(browser, 'A', set, { server: proxy.url }, a.page.context());
    expect(await again.state()).toEqual(state);
    await expect.poll(() => again.pending(), { timeout: 30_000 }).toBe(0);
    const b = await openReplicaPage(browser, 'B', set, { server: server.url });
    await expect.poll(() => b.state()).toEqual(state);
    // The reopened page recognised the push that landed without an answer: one version, not two.
    await expect(b.page.locator('[data-remote-height]')).toHaveAttribute('data-remote-height', '1');
  } finally {
    await proxy.close();
    await server.dispose();
  }
});

test('the reference server killed and restarted during sync: replicas converge afterwards', async ({
  browser,
}) => {
  const server = await startServerProcess();
  try {
    const set = newSet();
    const a = await openReplicaPage(browser, 'A', set, { server: server.url });
    const b = await openReplicaPage(browser, 'B', set, { server: server.url });
    await a.addTask('before the crash');
    await expect.poll(() => b.state()).toEqual(await a.state());

    await a.addTask('written while the server dies');
    await server.kill();
    await b.addTask('written while the server is down');
    await expect(b.page.getByTestId('error')).toBeVisible();
    await server.restart();

    await expect
      .poll(async () => [await a.pending(), await b.pending()], { timeout: 30_000 })
      .toEqual([0, 0]);
    // Pending 0 on both does not mean B has pulled A's last push yet: poll both states together.
    await expect
      .poll(
        async () => {
          const [left, right] = await Promise.all([a.state(), b.state()]);
          const titles = left.map(([, task]) => task.title).sort();
          return { titles, same: JSON.stringify(left) === JSON.stringify(right) };
        },
        { timeout: 30_000 },
      )
      .toEqual({
        titles: ['before the crash', 'written while the server dies', 'written while the server is down'],
        same: true,
      });
  } finally {
    await server.dispose();
  }
});
