/**
 * Live sync in real Chromium (issue 11, docs/live-sync.md): two devices (browser contexts) on one
 * data set through the reference server, each keeping the library's default 30 s sync interval and
 * nobody pressing "Sync now". A write in A reaches B because B's leader tab holds a conditional GET
 * of the chain's pointer open (`Prefer: wait`) and the server answers it when A's push moves the
 * pointer: each write must arrive in far less time than the interval, and the answer that woke B
 * must be that held request (200 with `Preference-Applied`). Then B's leader tab closes and the
 * other tab, the next leader, watches; then the server process restarts on the same port and
 * directory, and B's watcher re-arms on its own.
 *
 * Nothing sleeps: each step waits for a condition (the page's state, the watch request being out).
 */
import { expect, test, type Page, type Request, type Response } from '@playwright/test';
import { newSet, openReplicaPage, type ReplicaPage } from './demo-page.js';
import { startServerProcess } from './server-process.js';

/** The library's default sync interval, which every page here keeps (the demo's own is 1 s). */
const INTERVAL_MS = 30_000;
/**
 * How long a write may take to reach the other device: a third of the interval, room for a loaded
 * 2-core machine (on loopback the signal takes some 50 ms), yet a replica without the signal times
 * out, since its next sync is due 30 s after its last one.
 */
const ARRIVAL_MS = 10_000;
/**
 * After a restart B's watcher retries on its backoff (1 s, doubled per failure in a row, with
 * jitter), so the first write after it waits for B's next retry as well: still under the interval.
 */
const AFTER_RESTART_MS = 25_000;

/** Is this the leader's held watch: a conditional GET of the chain's pointer with `Prefer: wait=N>0`? */
function isHeldWatch(request: Request): boolean {
  const headers = request.headers();
  return (
    request.method() === 'GET' &&
    /\/chain\/[^/]+\/client$/.test(new URL(request.url()).pathname) &&
    headers['if-none-match'] !== undefined &&
    /^wait=[1-9]/.test(headers.prefer ?? '')
  );
}

/** One tab's watch of the remote, as its requests (its worker's included) show it. */
interface Watch {
  /** Held watch requests sent and not answered or failed yet. */
  readonly out: Set<Request>;
  /** Answers to held watch requests that reported a change: 200 with `Preference-Applied`. */
  readonly woke: Response[];
}

function watchOf(page: Page): Watch {
  const watch: Watch = { out: new Set(), woke: [] };
  page.on('request', (request) => {
    if (isHeldWatch(request)) watch.out.add(request);
  });
  page.on('requestfailed', (request) => watch.out.delete(request));
  page.on('response', (response) => {
    if (!watch.out.delete(response.request())) return;
    if (response.status() === 200 && response.headers()['preference-applied'] !== undefined) {
      watch.woke.push(response);
    }
  });
  return watch;
}

const titles = async (replica: ReplicaPage) => (await replica.state()).map(([, task]) => task.title);

/**
 * Writes `title` in `from` once `watch` (the leader tab of the other device) has a held request out,
 * and expects it in `to` within {@link ARRIVAL_MS}, brought by an answer to that held request.
 */
async function arrives(from: ReplicaPage, to: ReplicaPage, watch: Watch, title: string): Promise<void> {
  await expect.poll(() => watch.out.size, { message: 'the leader holds a watch request' }).toBeGreaterThan(0);
  const woken = watch.woke.length;
  await from.addTask(title);
  await expect.poll(() => titles(to), { timeout: ARRIVAL_MS }).toContain(title);
  await expect.poll(() => watch.woke.length, { timeout: ARRIVAL_MS }).toBeGreaterThan(woken);
}

test('a write on one device reaches the other through the change signal, across a leader hand-over and a server restart', async ({
  browser,
}) => {
  test.slow(); // three tabs, a page close and a server restart, on a loaded machine
  // Every wait for a write to arrive stays far under the interval, or the interval could deliver it.
  expect(AFTER_RESTART_MS).toBeLessThan(INTERVAL_MS);
  expect(ARRIVAL_MS).toBeLessThanOrEqual(INTERVAL_MS / 3);
  const server = await startServerProcess();
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  try {
    const set = newSet();
    const params = { server: server.url, interval: String(INTERVAL_MS) };
    const watches = new Map<Page, Watch>();
    contextB.on('page', (page) => watches.set(page, watchOf(page)));
    const a = await openReplicaPage(browser, 'A', set, params, contextA);
    // The chain's pointer exists before B watches it, so that B's held requests all carry the
    // ETag it saw (a watch of an absent pointer is held too, with no If-None-Match).
    await a.addTask('zero');
    await expect.poll(() => a.pending()).toBe(0);
    const b1 = await openReplicaPage(browser, 'B', set, params, contextB);
    const b2 = await openReplicaPage(browser, 'B', set, params, contextB);
    const isLeader = async (tab: ReplicaPage) =>
      (await tab.page.getByTestId('sync-state').getAttribute('data-leader')) === 'true';
    await expect.poll(async () => [await isLeader(b1), await isLeader(b2)].sort()).toEqual([false, true]);
    const [leader, other] = (await isLeader(b1)) ? [b1, b2] : [b2, b1];

    // 1. Two devices: A's write shows in B's leader tab and, through the change feed, in its other.
    await arrives(a, leader, watches.get(leader.page)!, 'one');
    await expect.poll(() => titles(other), { timeout: ARRIVAL_MS }).toEqual(['zero', 'one']);

    // 2. B's leader tab closes: the other tab leads, watches, and the next write reaches it.
    await leader.page.close();
    await expect.poll(() => isLeader(other)).toBe(true);
    await arrives(a, other, watches.get(other.page)!, 'two');

    // 3. The server process dies and starts again on the same port and directory: B's held request
    //    fails, its watcher retries with the last ETag it saw, and writes arrive again.
    const watch = watches.get(other.page)!;
    const woken = watch.woke.length;
    await server.restart();
    await a.addTask('three');
    await expect.poll(() => titles(other), { timeout: AFTER_RESTART_MS }).toContain('three');
    // B's re-armed request (If-None-Match: the ETag it saw before the restart) reported the change.
    await expect.poll(() => watch.woke.length, { timeout: AFTER_RESTART_MS }).toBeGreaterThan(woken);
    await arrives(a, other, watch, 'four');
    expect(await titles(other)).toEqual(['zero', 'one', 'two', 'three', 'four']);
  } finally {
    await Promise.all([contextA.close(), contextB.close()]);
    await server.dispose();
  }
});
