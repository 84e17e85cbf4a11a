/**
 * A normal session of the demo is quiet (issue 15, item 4): two replicas open, edit, sync and see
 * each other's changes, one reloads, and no console shows an error. The only requests answered
 * with an error status are the ones the protocol makes on purpose:
 *
 * - the capability probe's scratch writes (deliberate 412 / 404 answers), on a browser profile's
 *   first load only: the probe's verdict is remembered in the store's IndexedDB, so the reload
 *   sends no probe request at all;
 * - the engine's reads of names that may not exist yet: the storage layout computes every name and
 *   never lists (src/remote/remote-storage.ts), so "not there" is a 404: `c/<n+1>` (a commit after
 *   the newest known? none since), `client` (the pointer, before the data set's first commit), and
 *   when pushing `i/<id>` (the new version's id unused?) and `p/<parent>` (no child yet?);
 * - a race another replica won, as the layout expects: a create-only or compare-and-swap write of a
 *   chain name answered 412 (two replicas rolling the same commit forward write the same index
 *   objects and move the same pointer; two commits claim the same `c/<n+1>`), after which the
 *   loser reads again;
 * - the leader's watch of the chain's pointer (docs/live-sync.md), a GET the server holds until the
 *   pointer moves: a reload or a closing tab ends it under way (an aborted request), and the next
 *   leader watches again with the last ETag it reads;
 * - while the page reloads, any read of a chain name the engine had under way: the reload ends its
 *   worker, and the browser aborts what it was reading (the demo syncs every second, and compacts
 *   after its snapshots, so a reload may land in the middle of a sync). Only during the reload.
 *
 * The chain view draws from the engine's `inspect()`, so the page itself never reads the server.
 */
import { expect, test, type BrowserContext, type ConsoleMessage } from '@playwright/test';
import { newSet, openReplicaPage } from './demo-page.js';

/** What one browser context showed: console errors, and requests that failed or got status >= 400. */
interface Observed {
  readonly errors: string[];
  readonly failed: string[];
  readonly probes: string[];
  /** Set while the test reloads the page: reads the reload aborts are expected then. */
  reloading: boolean;
}

/** An engine read whose 404 means "not there (yet)", as the storage layout expects (see above). */
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CHAIN_NAME = `/chain/${UUID}/(c/\\d{12}|k/\\d{12}|client|i/${UUID}|p/${UUID})$`;
const nothingThere = new RegExp(`^GET 404 \\S+${CHAIN_NAME}`);
/** A conditional write of a chain name that lost a race (see above). */
const lostRace = new RegExp(`^PUT 412 \\S+${CHAIN_NAME}`);
const isProbe = (url: string) => url.includes('/chainsync-probe-');
/**
 * The leader's held watch of the pointer, ended by its page going away (see above), as each engine
 * names an aborted request: Chromium `net::ERR_ABORTED`, Firefox `NS_BINDING_ABORTED`.
 */
const watchEnded = new RegExp(
  `^GET failed \\S+/chain/${UUID}/client \\((net::ERR_ABORTED|NS_BINDING_ABORTED)\\)$`,
);
/** A read of a chain name aborted as its page went away (allowed only while reloading, see above). */
const readEnded = new RegExp(
  `^GET failed \\S+${CHAIN_NAME.slice(0, -1)} \\((net::ERR_ABORTED|NS_BINDING_ABORTED)\\)$`,
);

function observe(context: BrowserContext): Observed {
  const seen: Observed = { errors: [], failed: [], probes: [], reloading: false };
  const consoleError = (where: string) => (message: ConsoleMessage) => {
    if (message.type() === 'error')
      seen.errors.push(`${where}: ${message.text()} (${message.location().url})`);
  };
  context.on('console', consoleError('page'));
  context.on('weberror', (error) => seen.errors.push(`uncaught: ${String(error.error())}`));
  context.on('page', (page) => page.on('worker', (worker) => worker.on('console', consoleError('worker'))));
  context.on('request', (request) => {
    if (isProbe(request.url())) seen.probes.push(`${request.method()} ${request.url()}`);
  });
  context.on('requestfailed', (request) => {
    const line = `${request.method()} failed ${request.url()} (${request.failure()?.errorText})`;
    if (!(seen.reloading && readEnded.test(line))) seen.failed.push(line);
  });
  context.on('response', (response) => {
    if (response.status() >= 400)
      seen.failed.push(`${response.request().method()} ${response.status()} ${response.url()}`);
  });
  return seen;
}

/** The failures a session may show (see the file's comment), left out. */
const unexpected = (failed: readonly string[], probeAllowed: boolean) =>
  failed.filter(
    (line) =>
      !nothingThere.test(line) &&
      !lostRace.test(line) &&
      !watchEnded.test(line) &&
      !(probeAllowed && isProbe(line)),
  );

test('a normal session shows no console error and no failed request; a reload sends no probe', async ({
  browser,
}) => {
  test.slow(); // two contexts, a reload and several syncs, on a loaded machine
  const set = newSet();
  const contexts = [await browser.newContext(), await browser.newContext()] as const;
  try {
    const [seenA, seenB] = contexts.map(observe) as [Observed, Observed];
    const a = await openReplicaPage(browser, 'A', set, {}, contexts[0]);
    const b = await openReplicaPage(browser, 'B', set, {}, contexts[1]);
    // Each profile's first load probed the server (nothing remembered yet).
    expect(seenA.probes.length).toBeGreaterThan(0);

    await a.addTask('from A');
    await expect.poll(async () => (await b.state()).map(([, p]) => p.title)).toEqual(['from A']);
    await b.setTitle(0, 'edited on B');
    await expect.poll(async () => (await a.state()).map(([, p]) => p.title)).toEqual(['edited on B']);

    // A reload of A: its worker finds the probe's verdict in the store's IndexedDB.
    const probedBefore = seenA.probes.length;
    const failedBefore = seenA.failed.length;
    seenA.reloading = true;
    await a.reload();
    seenA.reloading = false;
    await a.addTask('after reload');
    await expect
      .poll(async () => (await b.state()).map(([, p]) => p.title))
      .toEqual(['edited on B', 'after reload']);
    expect(seenA.probes.slice(probedBefore)).toEqual([]);
    expect(unexpected(seenA.failed.slice(failedBefore), false)).toEqual([]);

    for (const seen of [seenA, seenB]) {
      expect(seen.errors).toEqual([]);
      expect(unexpected(seen.failed, true)).toEqual([]);
    }
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
  }
});
