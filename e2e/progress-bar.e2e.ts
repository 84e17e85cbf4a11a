/**
 * The demo's progress bar and live indicator (issue 11, item 4): a fresh replica catching up a
 * chain of two dozen versions draws its bootstrap and pull from `onProgress`, the bar's count never
 * goes back within a phase and ends full (done === total, 100%), and the indicator shows how its
 * leader watches the chain (the reference server holds the watch: `signal`), then `offline`.
 */
import { expect, test } from '@playwright/test';
import { closeReplicaPages, newSet, openReplicaPage } from './demo-page.js';

/** Tasks the writer adds, one version each (it waits for each to be pushed). */
const TASKS = 24;

test.afterEach(closeReplicaPages);

test('a fresh replica catching up a chain of versions fills its progress bar to 100%', async ({
  browser,
}) => {
  const set = newSet();
  // The library's snapshot policy (the demo's own snapshots every 10 versions, for compaction).
  const writer = await openReplicaPage(browser, 'A', set, { compaction: 'off' });
  for (let i = 0; i < TASKS; i++) {
    await writer.addTask(`task ${i}`);
    // Pushed before the next is added: one version per task.
    await expect.poll(() => writer.pending()).toBe(0);
  }

  // Every value the fresh page's bar shows, recorded from its first paint.
  const context = await browser.newContext();
  await context.addInitScript(() => {
    const seen: { phase: string; done: number; total: string }[] = [];
    (window as unknown as { progressSeen: typeof seen }).progressSeen = seen;
    document.addEventListener('DOMContentLoaded', () => {
      const box = document.querySelector<HTMLElement>('[data-testid="progress"]');
      if (!box) return;
      new MutationObserver(() => {
        const { phase = '', done = '0', total = '' } = box.dataset;
        const last = seen.at(-1);
        if (last?.phase !== phase || last.done !== Number(done) || last.total !== total)
          seen.push({ phase, done: Number(done), total });
      }).observe(box, { attributes: true, attributeFilter: ['data-done', 'data-phase', 'data-total'] });
    });
  });
  try {
    const fresh = await openReplicaPage(browser, 'B', set, {}, context);
    const box = fresh.page.getByTestId('progress');
    await expect.poll(async () => (await fresh.state()).length).toBe(TASKS);
    // The bootstrap read the writer's first snapshot (at its first version); the pull read the rest.
    await expect(box).toHaveAttribute('data-phase', 'pull');
    await expect(box).toHaveAttribute('data-percent', '100');
    await expect(box).toHaveAttribute('data-total', String(TASKS - 1));
    const bar = fresh.page.getByTestId('progress-bar');
    expect(
      await bar.evaluate((el) => [(el as HTMLProgressElement).value, (el as HTMLProgressElement).max]),
    ).toEqual([TASKS - 1, TASKS - 1]);
    await expect(fresh.page.getByTestId('progress-label')).toContainText(
      `pull: ${TASKS - 1} of ${TASKS - 1} versions (100%)`,
    );

    const seen = await fresh.page.evaluate(
      () =>
        (window as unknown as { progressSeen: { phase: string; done: number; total: string }[] })
          .progressSeen,
    );
    expect(seen.map((s) => s.phase).filter((p, i, all) => all[i - 1] !== p)).toEqual(['bootstrap', 'pull']);
    for (const phase of ['bootstrap', 'pull']) {
      const dones = seen.filter((s) => s.phase === phase).map((s) => s.done);
      expect(dones).toEqual([...dones].sort((a, b) => a - b));
    }
    // The pull's total was known from its first event, and the bootstrap ended full too.
    expect(seen.find((s) => s.phase === 'pull')).toEqual({
      phase: 'pull',
      done: 0,
      total: String(TASKS - 1),
    });
    expect(seen.filter((s) => s.phase === 'bootstrap').at(-1)).toEqual({
      phase: 'bootstrap',
      done: 1,
      total: '1',
    });

    // The live indicator: the reference server holds the leader's watch, then the page goes offline.
    const transport = fresh.page.getByTestId('transport');
    await expect(transport).toHaveAttribute('data-transport', 'signal');
    await fresh.setOffline(true);
    await expect(transport).toHaveAttribute('data-transport', 'offline');
  } finally {
    await context.close();
  }
});
