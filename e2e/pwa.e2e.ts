/**
 * The demo as an offline-first PWA (issue 16), in real Chromium and Firefox: the production build's
 * service worker (demo/sw.ts) precaches the app, so a second visit starts with no network at all;
 * edits made offline queue, and reach the server and other devices once the network is back, with
 * no click.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage } from './demo-page.js';

test.afterEach(closeReplicaPages);

/** Waits until this page's service worker has precached the app (demo/pwa-register.ts). */
async function offlineReady(page: Page): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-offline-ready', 'true');
}

/** Opens the standalone replica page in `context`, as the installed app would. */
async function openInContext(context: BrowserContext, name: string, set: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`replica.html?${new URLSearchParams({ name, set }).toString()}`);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  return page;
}

const titles = async (page: Page): Promise<string[]> =>
  (
    JSON.parse((await page.getByTestId('tasks').getAttribute('data-state')) ?? '[]') as [
      string,
      { title: string },
    ][]
  ).map(([, data]) => data.title);

test('a second visit starts with no network, edits offline, and syncs when the network is back', async ({
  browser,
}) => {
  const set = newSet();
  const first = await openReplicaPage(browser, 'P', set);
  const context = first.page.context();
  await offlineReady(first.page);
  await first.addTask('written online');
  await expect(first.page.getByTestId('pending')).toHaveText('0');
  await first.page.close();

  // Offline from the very first request of the second visit.
  await context.setOffline(true);
  const page = await openInContext(context, 'P', set);
  expect(await titles(page)).toEqual(['written online']);
  // Chromium's emulation turns navigator.onLine off; Firefox's (over WebDriver BiDi) only fails the
  // requests, which the page learns from a sync that could not reach the server. Either way:
  await expect(page.getByTestId('connection')).toHaveText('offline');
  await page.getByTestId('new-title').fill('written offline');
  await page.getByTestId('new-title').press('Enter');
  // A new task is several operations (its creation and its properties): any number but 0.
  await expect(page.getByTestId('pending')).toHaveText(/^[1-9]\d*$/);
  await expect(page.getByTestId('connection')).toHaveText('offline');
  expect(await titles(page)).toEqual(['written online', 'written offline']);

  // The network comes back: the replica syncs by itself (nobody clicks "Sync now").
  await context.setOffline(false);
  await expect(page.getByTestId('connection')).toHaveText('online');
  await expect(page.getByTestId('pending')).toHaveText('0');

  // Another device sees both edits.
  const other = await openReplicaPage(browser, 'Q', set);
  await expect.poll(() => titles(other.page)).toEqual(['written online', 'written offline']);
});
