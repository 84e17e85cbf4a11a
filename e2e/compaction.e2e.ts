/**
 * Remote storage that stays bounded (issue 12), as a person sees it in the demo: the demo's
 * replicas snapshot every 10 versions and compact what lies more than 5 commits behind (an app
 * keeps the defaults). The page shows what the server keeps (status().remote) and draws the
 * versions compacted away as empty outlines; a new device still gets everything from the snapshot,
 * and a device that was offline while its base was compacted away comes back without losing its
 * edit.
 */
import { expect, test } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage, type ReplicaPage } from './demo-page.js';

test.afterEach(closeReplicaPages);

const synced = (r: ReplicaPage) => expect.poll(() => r.pending()).toBe(0);
const titles = async (r: ReplicaPage) => (await r.state()).map(([, p]) => String(p.title)).sort();

test('compaction: the server keeps the recent versions only, the page shows it, and no replica loses anything', async ({
  browser,
}) => {
  // Some 25 syncs and three pages: well within a minute on an idle machine, longer under load.
  test.slow();
  const set = newSet();
  const a = await openReplicaPage(browser, 'A', set);
  await a.addTask('task 0');
  await synced(a);
  // C takes the first version, then goes offline with an edit of its own.
  const c = await openReplicaPage(browser, 'C', set);
  await expect.poll(() => titles(c)).toEqual(['task 0']);
  await c.setOffline(true);
  await c.addTask('made offline on C');

  // One version per task (each synced before the next): snapshots at 10 and 20, compaction after each.
  for (let i = 1; i < 24; i++) {
    await a.addTask(`task ${i}`);
    await synced(a);
  }
  const server = a.page.getByTestId('server');
  const keptFrom = async () => Number((await server.getAttribute('data-retained-from')) ?? 1);
  await expect.poll(keptFrom).toBeGreaterThan(10);
  // Listed after the compaction that followed the snapshot at 20: the head was at least that then.
  const to = Number(await server.getAttribute('data-retained-to'));
  expect(to).toBeGreaterThanOrEqual(20);
  expect(to).toBeLessThanOrEqual(24);
  await expect(server).toContainText(/compacted/);
  // The drawing shows the newest 12 versions: those below the kept range are empty outlines.
  const from = await keptFrom();
  const compacted = a.page.getByTestId('chain').locator('circle.compacted');
  await expect(compacted).toHaveCount(Math.max(0, from - 13));

  // A new device bootstraps from the snapshot: everything is there.
  const b = await openReplicaPage(browser, 'B', set);
  const all = Array.from({ length: 24 }, (_, i) => `task ${i}`).sort();
  await expect.poll(() => titles(b)).toEqual(all);

  // C's base (version 1) was compacted away: it recovers from the snapshot and pushes its edit.
  await c.setOffline(false);
  const everything = [...all, 'made offline on C'].sort();
  await expect.poll(() => titles(c)).toEqual(everything);
  await synced(c);
  await expect.poll(() => titles(a)).toEqual(everything);
  await expect.poll(() => titles(b)).toEqual(everything);
});
