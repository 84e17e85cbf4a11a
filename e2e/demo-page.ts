/**
 * Drives one replica page of the demo (replica.html) through its data-testid attributes. Each
 * replica gets its own browser context, so replicas share nothing but the server.
 */
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

/** One task as the page renders it: its id and its properties. */
export type TaskEntry = [id: string, properties: Record<string, unknown>];

export interface ReplicaPage {
  readonly page: Page;
  addTask(title: string): Promise<void>;
  setOffline(offline: boolean): Promise<void>;
  setTitle(index: number, title: string): Promise<void>;
  toggleDone(index: number): Promise<void>;
  /** The replica's tasks as `[id, properties]` pairs (what the page renders). */
  state(): Promise<TaskEntry[]>;
  pending(): Promise<number>;
  /** When the pending update whose line contains `text` was made (ms since the epoch), or `null`. */
  pendingEditAt(text: string): Promise<number | null>;
  /** The page's clock: the same machine clock the replica's worker stamps updates with. */
  now(): Promise<number>;
  /** The lines under "Conflicts": those this replica won, and those it lost. */
  conflicts(): Promise<Record<'won' | 'lost', ConflictLine[]>>;
  reload(): Promise<void>;
}

/** One line under "Conflicts": the object and property of the operation it names, and its text. */
export interface ConflictLine {
  readonly id: string;
  readonly property: string | null;
  readonly text: string;
}

/** The contexts {@link openReplicaPage} made and {@link closeReplicaPages} has not closed yet. */
const contexts = new Set<BrowserContext>();

/**
 * Closes every context {@link openReplicaPage} made: call it after each test. The browser lives
 * for the whole run, and a replica page left open keeps syncing and redrawing every second, loading
 * the machine under the tests that follow.
 */
export async function closeReplicaPages(): Promise<void> {
  const open = [...contexts];
  contexts.clear();
  await Promise.all(open.map((c) => c.close()));
}

/** A fresh data set id, so tests never see each other's objects. */
export const newSet = (): string => crypto.randomUUID();

export async function openReplicaPage(
  browser: Browser,
  name: string,
  set: string,
  extra: Record<string, string> = {},
  /** Another tab of the same browser profile; a new context (another device) by default. */
  context?: BrowserContext,
): Promise<ReplicaPage> {
  if (!context) {
    context = await browser.newContext();
    contexts.add(context);
  }
  const page = await context.newPage();
  const query = new URLSearchParams({ name, set, ...extra });
  await page.goto(`replica.html?${query.toString()}`);
  const ready = () => expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await ready();
  const tid = (id: string) => page.getByTestId(id);
  const task = (index: number) => tid('tasks').locator('li').nth(index);
  return {
    page,
    async addTask(title) {
      const before = await tid('tasks').locator('li').count();
      await tid('new-title').fill(title);
      await tid('new-title').press('Enter');
      await expect(tid('tasks').locator('li')).toHaveCount(before + 1);
    },
    async setOffline(offline) {
      const box = tid('offline');
      if ((await box.isChecked()) !== offline) await box.click();
      await expect(tid('connection')).toHaveText(offline ? 'offline' : 'online');
      await ready();
    },
    async setTitle(index, title) {
      const input = task(index).getByTestId('title');
      // As a user would: bring the window to the front, select the old title, type the new one
      // key by key, press Enter (the demo saves a title on `change`). In Firefox (WebDriver BiDi)
      // fill() sets the value from a script, after which Firefox fires no `change`; and typing into
      // a window without the focus starts at the beginning of the old text.
      await page.bringToFront();
      await input.selectText();
      await input.pressSequentially(title);
      await input.press('Enter');
      await expect(task(index).getByTestId('title')).toHaveValue(title);
    },
    async toggleDone(index) {
      await task(index).getByTestId('done').click();
    },
    state: async () => JSON.parse((await tid('tasks').getAttribute('data-state')) ?? '[]') as TaskEntry[],
    pending: async () => Number(await tid('pending').textContent()),
    async pendingEditAt(text) {
      const stamps = await tid('pending-list')
        .locator('li[data-timestamp]', { hasText: text })
        .evaluateAll((items) => items.map((li) => Number((li as HTMLElement).dataset.timestamp)));
      return stamps.length > 0 ? Math.max(...stamps) : null;
    },
    now: () => page.evaluate(() => Date.now()),
    async conflicts() {
      const lines = (outcome: 'won' | 'lost') =>
        tid(`conflict-${outcome}`).evaluateAll((items) =>
          items.map((li) => {
            const { id = '', property = null } = (li as HTMLElement).dataset;
            return { id, property, text: li.textContent ?? '' };
          }),
        );
      return { won: await lines('won'), lost: await lines('lost') };
    },
    async reload() {
      await page.reload();
      await ready();
    },
  };
}
