import { expect, test } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage } from './demo-page.js';

test.afterEach(closeReplicaPages);

test('Delete local data: refused while edits are unsynced; then every tab of the replica closes and its IndexedDB database is gone', async ({
  browser,
}) => {
  test.slow(); // two tabs, four reopens and a sync, on a loaded machine
  const set = newSet();
  const a = await openReplicaPage(browser, 'A', set);
  // A second tab of the same browser profile, on the same replica (and so the same database).
  const a2 = await openReplicaPage(browser, 'A', set, {}, a.page.context());
  const database = `chainsync:demo-${set}-A`;
  const databases = () =>
    a2.page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));

  // Offline edits cannot be synced: deleting would lose them, so nothing is deleted or closed.
  await a.setOffline(true);
  await a2.setOffline(true);
  await a.addTask('not synced yet');
  await expect.poll(() => a.pending()).toBeGreaterThan(0);
  await a.page.getByTestId('delete-local').click();
  await expect(a.page.getByTestId('error')).toContainText('have not been synced yet');
  expect(await databases()).toContain(database);
  await a2.addTask('still open');
  for (const tab of [a, a2]) await expect(tab.page.getByTestId('closed')).toBeHidden();

  // Online, the edits reach the server; then both tabs close and the local data is removed.
  await a.setOffline(false);
  await a2.setOffline(false);
  await expect.poll(async () => [await a.pending(), await a2.pending()]).toEqual([0, 0]);
  await a.page.getByTestId('delete-local').click();
  for (const tab of [a, a2]) {
    await expect(tab.page.locator('body')).toHaveAttribute('data-closed', 'deleted');
    await expect(tab.page.getByTestId('closed')).toContainText('was deleted');
  }
  expect(await databases()).not.toContain(database);
});
