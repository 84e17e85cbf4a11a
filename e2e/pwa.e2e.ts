/**
 * The demo as an offline-first PWA (issue 16), in real Chromium and Firefox: the production build's
 * service worker (demo/sw.ts) precaches the app, so a second visit starts with no network at all;
 * edits made offline queue, and reach the server and other devices once the network is back, with
 * no click.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage } from './demo-page.js';
import { startDemoProcess } from './demo-process.js';

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

test('an update deployed under open tabs waits for the user, never mixes versions, and keeps the data', async ({
  browser,
}) => {
  const demo = await startDemoProcess();
  const context = await browser.newContext({ baseURL: demo.url });
  try {
    const set = newSet();
    const version = (page: Page) => page.locator('html').getAttribute('data-app-version');
    const page = await openInContext(context, 'U', set);
    await offlineReady(page);
    expect(await version(page)).toBe('1');
    await page.getByTestId('new-title').fill('before the update');
    await page.getByTestId('new-title').press('Enter');
    await expect.poll(() => titles(page)).toEqual(['before the update']);

    expect(await demo.deploy()).toBe(2);
    // The browser checks for an update on navigations and every 24 hours; ask now.
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });
    await expect(page.getByTestId('update')).toBeVisible();

    // The new version waits: a tab opened now still runs the old one, from the old worker's cache,
    // and works against the same database.
    const second = await openInContext(context, 'U', set);
    expect(await version(second)).toBe('1');
    expect(await version(page)).toBe('1');
    await second.getByTestId('new-title').fill('while the update waits');
    await second.getByTestId('new-title').press('Enter');
    await expect.poll(() => titles(second)).toEqual(['before the update', 'while the update waits']);

    // Accepted in one tab: every tab reloads onto the new version, and nothing was lost.
    await expect(second.getByTestId('update')).toBeVisible();
    await page.getByTestId('update-now').click();
    for (const tab of [page, second]) {
      await expect(tab.locator('html')).toHaveAttribute('data-app-version', '2');
      await expect(tab.locator('body')).toHaveAttribute('data-ready', 'true');
      await expect.poll(() => titles(tab)).toEqual(['before the update', 'while the update waits']);
    }
  } finally {
    await context.close();
    await demo.stop();
  }
});

test('edits made offline reach the server through the service worker, with every page of the app closed', async ({
  browser,
  browserName,
}) => {
  test.skip(
    browserName !== 'chromium',
    'Background Sync exists in Chromium only; elsewhere the next open syncs (the first test)',
  );
  const set = newSet();
  const tag = `chainsync:demo-${set}-S`;
  const height = (page: Page) => page.locator('[data-testid="chain"] svg').getAttribute('data-local-height');
  const first = await openReplicaPage(browser, 'S', set);
  const context = first.page.context();
  await offlineReady(first.page);
  await first.addTask('written online');
  // Another device sees it: it is on the server. Its chain height is the one to compare with.
  const other = await openReplicaPage(browser, 'T', set);
  await expect.poll(() => titles(other.page)).toEqual(['written online']);
  const before = Number(await height(other.page));

  // The DevTools session that fires the sync event (as the browser would once the network is back)
  // needs a target in this profile: a blank page, of no origin of the app's.
  const blank = await context.newPage();
  const devtools = await context.newCDPSession(blank);
  const registrations: { registrationId: string; scopeURL: string }[] = [];
  devtools.on('ServiceWorker.workerRegistrationUpdated', (event) =>
    registrations.push(...event.registrations),
  );
  await devtools.send('ServiceWorker.enable');

  await context.setOffline(true);
  await first.page.getByTestId('new-title').fill('written offline');
  await first.page.getByTestId('new-title').press('Enter');
  await expect(first.page.getByTestId('connection')).toHaveText('offline');
  await expect(first.page.getByTestId('pending')).toHaveText(/^[1-9]\d*$/);
  // Stranded with edits pending: the page registered the store's Background Sync.
  await expect
    .poll(() =>
      first.page.evaluate(async () => {
        const registration = (await navigator.serviceWorker.getRegistration()) as
          (ServiceWorkerRegistration & { sync: { getTags(): Promise<string[]> } }) | undefined;
        return registration ? registration.sync.getTags() : [];
      }),
    )
    .toContain(tag);
  await first.page.close();
  expect(context.pages().map((page) => page.url())).toEqual(['about:blank']);

  await context.setOffline(false);
  const origin = new URL(first.page.url()).origin;
  const registration = registrations.find((r) => r.scopeURL === `${origin}/`);
  expect(registration).toBeDefined();
  await devtools.send('ServiceWorker.dispatchSyncEvent', {
    origin,
    registrationId: registration!.registrationId,
    tag,
    lastChance: false,
  });

  // The other device gets the edit while no page of the first is open: one more version.
  await expect.poll(() => titles(other.page)).toEqual(['written online', 'written offline']);
  await expect.poll(async () => Number(await height(other.page))).toBe(before + 1);
  expect(context.pages().map((page) => page.url())).toEqual(['about:blank']);

  // Reopened: nothing pending, the edit already in the chain (not pushed again).
  const again = await openInContext(context, 'S', set);
  await expect(again.getByTestId('pending')).toHaveText('0');
  await expect.poll(async () => Number(await height(again))).toBe(before + 1);
  expect(await titles(again)).toEqual(['written online', 'written offline']);
  expect(Number(await height(other.page))).toBe(before + 1);
});
