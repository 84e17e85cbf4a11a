/**
 * The demo as an offline-first PWA (issue 16), in real Chromium and Firefox: the production build's
 * service worker (demo/sw.ts) precaches the app, so a second visit starts with no network at all;
 * edits made offline queue, and reach the server and other devices once the network is back, with
 * no click.
 */
import { expect, test, type Page } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage, type ReplicaPage } from './demo-page.js';
import { startDemoProcess } from './demo-process.js';

test.afterEach(closeReplicaPages);

/** Waits until this page's service worker has precached the app (demo/pwa-register.ts). */
async function offlineReady(page: Page): Promise<void> {
  await expect(page.locator('html')).toHaveAttribute('data-offline-ready', 'true');
}

/** The titles of the replica's tasks, in the order it lists them. */
const titles = async (replica: ReplicaPage): Promise<string[]> =>
  (await replica.state()).map(([, data]) => String(data['title']));

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
  const again = await openReplicaPage(browser, 'P', set, {}, context);
  expect(await titles(again)).toEqual(['written online']);
  // Chromium's emulation turns navigator.onLine off; Firefox's (over WebDriver BiDi) only fails the
  // requests, which the page learns from a sync that could not reach the server. Either way:
  const connection = again.page.getByTestId('connection');
  await expect(connection).toHaveText('offline');
  await again.addTask('written offline');
  // A new task is several operations (its creation and its properties): any number but 0.
  await expect(again.page.getByTestId('pending')).toHaveText(/^[1-9]\d*$/);
  await expect(connection).toHaveText('offline');
  expect(await titles(again)).toEqual(['written online', 'written offline']);

  // The network comes back: the replica syncs by itself (nobody clicks "Sync now").
  await context.setOffline(false);
  await expect(connection).toHaveText('online');
  await expect(again.page.getByTestId('pending')).toHaveText('0');

  // Another device sees both edits.
  const other = await openReplicaPage(browser, 'Q', set);
  await expect.poll(() => titles(other)).toEqual(['written online', 'written offline']);
});

test('an update deployed under open tabs waits for the user, never mixes versions, and keeps the data', async ({
  browser,
}) => {
  // It builds the demo twice (its own process, then the update): 39 s each at load average 14.
  test.setTimeout(240_000);
  const demo = await startDemoProcess();
  const context = await browser.newContext({ baseURL: demo.url });
  try {
    const set = newSet();
    const version = (tab: ReplicaPage) => tab.page.locator('html').getAttribute('data-app-version');
    const first = await openReplicaPage(browser, 'U', set, {}, context);
    await offlineReady(first.page);
    expect(await version(first)).toBe('1');
    await first.addTask('before the update');

    expect(await demo.deploy()).toBe(2);
    // The browser checks for an update on navigations and every 24 hours; ask now.
    await first.page.evaluate(async () => {
      await (await navigator.serviceWorker.getRegistration())?.update();
    });
    await expect(first.page.getByTestId('update')).toBeVisible();

    // The new version waits: a tab opened now still runs the old one, from the old worker's cache,
    // and works against the same database.
    const second = await openReplicaPage(browser, 'U', set, {}, context);
    expect(await version(second)).toBe('1');
    expect(await version(first)).toBe('1');
    await second.addTask('while the update waits');
    expect(await titles(second)).toEqual(['before the update', 'while the update waits']);

    // Accepted in one tab: every tab reloads onto the new version, and nothing was lost.
    await expect(second.page.getByTestId('update')).toBeVisible();
    await first.page.getByTestId('update-now').click();
    for (const tab of [first, second]) {
      await expect(tab.page.locator('html')).toHaveAttribute('data-app-version', '2');
      await expect(tab.page.locator('body')).toHaveAttribute('data-ready', 'true');
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
  await expect.poll(() => titles(other)).toEqual(['written online']);
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
  await first.addTask('written offline');
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
  await expect.poll(() => titles(other)).toEqual(['written online', 'written offline']);
  await expect.poll(async () => Number(await height(other.page))).toBe(before + 1);
  expect(context.pages().map((page) => page.url())).toEqual(['about:blank']);

  // Reopened: nothing pending, the edit already in the chain (not pushed again).
  const again = await openReplicaPage(browser, 'S', set, {}, context);
  await expect(again.page.getByTestId('pending')).toHaveText('0');
  await expect.poll(async () => Number(await height(again.page))).toBe(before + 1);
  expect(await titles(again)).toEqual(['written online', 'written offline']);
  expect(Number(await height(other.page))).toBe(before + 1);
});
