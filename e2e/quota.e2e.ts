/**
 * Storage that stays (issue 16 item 4), in real Chromium: a storage-limited profile hits its quota
 * in a pull. Replica B's origin gets a small quota (DevTools' `Storage.overrideQuotaForOrigin`),
 * replica A pushes more than that, and B's pull is refused by IndexedDB with the browser's own
 * QuotaExceededError: B's page shows the typed error (QUOTA_EXCEEDED, with the bytes the pull
 * needed), its data is what it showed before (nothing partial), and once the quota is lifted the
 * next sync completes the pull. The demo also shows persistence and the quota use.
 */
import { expect, test, type CDPSession } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage, type TaskEntry } from './demo-page.js';

test.afterEach(closeReplicaPages);

/** Tasks A pushes while B is offline, each with a title of this many characters. */
const BIG_TASKS = 6;
const TITLE_CHARS = 400_000;
/**
 * What B's origin may store. The demo's precache (the app shell and the engine worker, about 0.75 MB
 * in Cache Storage) counts against it too, so it leaves about 1.2 MB for B's opens, its first task
 * and the probe cache: room that a somewhat larger build does not use up. The big tasks (2.4 MB)
 * exceed the whole quota, so their pull is refused whatever the build weighs.
 */
const QUOTA = 2_000_000;

/**
 * A title IndexedDB cannot compress (Chromium compresses values with Snappy, which finds nothing
 * to squeeze in random base64): the bytes it stores are about its length.
 */
function randomTitle(label: string): string {
  const bytes = new Uint8Array((TITLE_CHARS * 3) / 4);
  for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
  return `${label} ${Buffer.from(bytes).toString('base64')}`.slice(0, TITLE_CHARS);
}

test('a pull over the quota leaves the replica as it was, says how much it needed, and completes once space is there', async ({
  browser,
  browserName,
  baseURL,
}) => {
  test.skip(
    browserName !== 'chromium',
    "Storage.overrideQuotaForOrigin is Chromium's DevTools protocol: no other engine here can limit an origin's storage",
  );
  const set = newSet();
  const origin = new URL(baseURL ?? '').origin;
  const a = await openReplicaPage(browser, 'A', set);
  const contextB = await browser.newContext();
  try {
    // The quota is set before B's origin stores anything: Chromium's IndexedDB caches the space it
    // may use for 30 s (BucketContext::kBucketSpaceCacheTimeLimit), so a quota lowered later is
    // not enforced until that allowance has run out. A page kept open holds the DevTools session.
    const devtools = await contextB.newPage();
    const cdp: CDPSession = await contextB.newCDPSession(devtools);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: QUOTA });
    const b = await openReplicaPage(browser, 'B', set, {}, contextB);
    // Persistent storage is asked for once a replica holds data worth keeping, not before.
    const storageA = a.page.getByTestId('storage');
    await expect(storageA).toHaveText(/^storage: /);
    await expect(storageA).toHaveAttribute('data-asked', 'false');
    await a.addTask('before the quota');
    await expect(storageA).toHaveAttribute('data-asked', 'true');
    await expect.poll(() => a.pending()).toBe(0);
    await expect.poll(async () => (await b.state()).map(([, p]) => p.title)).toEqual(['before the quota']);
    const shown = await b.state();

    // The demo asked for persistent storage once B held data, and shows the answer and the use.
    const storage = b.page.getByTestId('storage');
    await expect(storage).toHaveAttribute('data-asked', 'true');
    await expect(storage).toHaveAttribute('data-persisted', /^(true|false)$/);
    await expect(storage).toHaveText(
      /^storage: (persistent|best-effort \(may be evicted\)) · [\d.]+ (B|kB|MB|GB) of [\d.]+ (B|kB|MB|GB)$/,
    );

    // B goes offline while A pushes more than B may store: B then pulls it all in one sync.
    await b.setOffline(true);
    const titles: string[] = [];
    for (let i = 0; i < BIG_TASKS; i++) {
      titles.push(randomTitle(`big ${i}`));
      await a.addTask(titles[i]!);
      await expect.poll(() => a.pending()).toBe(0);
    }

    await b.setOffline(false);
    const error = b.page.getByTestId('error');
    await expect(error).toBeVisible();
    await expect(error).toContainText(
      'QUOTA_EXCEEDED: The browser refused to store the pull for lack of space',
    );
    const text = (await error.textContent()) ?? '';
    const needed = Number(/needed about [^(]+\((\d+) bytes\)/.exec(text)?.[1]);
    // The refused page held every big title: at least their characters, in bytes.
    expect(needed).toBeGreaterThanOrEqual(BIG_TASKS * TITLE_CHARS);
    expect(text).toContain('Nothing of it was written');
    expect(text).toContain('navigator.storage.persist()');
    // What B showed before is still there, and nothing of the refused pull.
    expect(await b.state()).toEqual(shown);
    await b.reload(); // what a reload finds in IndexedDB (it syncs, and is refused, again)
    await expect.poll(() => b.state()).toEqual(shown);
    await expect(error).toContainText('QUOTA_EXCEEDED');
    expect(await b.state()).toEqual(shown);

    // Space freed (the override lifted): the next sync (the schedule's retry) completes the pull.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await expect
      .poll(async () => (await b.state()).map(([, p]) => p.title), { timeout: 60_000 })
      .toEqual(['before the quota', ...titles]);
    await expect(error).toBeHidden();
    const all: TaskEntry[] = await b.state();
    expect(all.map(([, p]) => p.done)).toEqual(Array<boolean>(BIG_TASKS + 1).fill(false));
  } finally {
    await contextB.close();
  }
});
