/**
 * The demo as `npm run demo` serves it: Vite's dev server, every module from source. The other
 * e2e tests drive the production build; this one checks what only the dev server does to the
 * worker (it would add a static import of its env module, which msw's service worker stalls in
 * Firefox), with msw as the server, as the README offers (`?server=msw`).
 */
import { expect, test } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage } from './demo-page.js';
import { startDemoProcess } from './demo-process.js';

test.afterEach(closeReplicaPages);

test('the dev server demo opens a replica with msw as its server, and syncs to it', async ({ browser }) => {
  // A dev server compiles each module on its first request: the first page load is slow on a
  // loaded machine, and is not what this test is about.
  test.setTimeout(240_000);
  const demo = await startDemoProcess('dev');
  const context = await browser.newContext({ baseURL: demo.url });
  try {
    const warm = await context.newPage();
    await warm.goto(`replica.html?${new URLSearchParams({ name: 'W', set: newSet() }).toString()}`);
    await expect(warm.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 150_000 });
    await warm.close();

    const replica = await openReplicaPage(browser, 'M', newSet(), { server: 'msw' }, context);
    await replica.addTask('through msw');
    await expect(replica.page.getByTestId('pending')).toHaveText('0');
    await expect(replica.page.getByTestId('error')).toBeHidden();
    expect((await replica.state()).map(([, task]) => task['title'])).toEqual(['through msw']);
  } finally {
    await context.close();
    await demo.stop();
  }
});
