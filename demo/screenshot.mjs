#!/usr/bin/env node
/* global console, crypto, process, URL */
/**
 * Takes demo/screenshot.png: three replicas mid-reconciliation, one showing a conflict it won. Run against a running demo:
 * `npm run demo` in one terminal, then `node demo/screenshot.mjs [url]`.
 */
import { chromium } from 'playwright';

const url = process.argv[2] ?? 'http://127.0.0.1:5173/';
const set = crypto.randomUUID();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
await page.goto(`${url}?set=${set}`);
const frame = (name) => page.frameLocator(`[data-testid="replica-${name}"]`);
for (const name of ['A', 'B', 'C']) {
  await frame(name).locator('body[data-ready="true"]').waitFor();
}
const add = async (name, title) => {
  await frame(name).getByTestId('new-title').fill(title);
  await frame(name).getByTestId('new-title').press('Enter');
};
await add('A', 'Buy milk');
await add('A', 'Write the report');
for (const name of ['B', 'C']) {
  await frame(name).locator('[data-testid="tasks"] li').nth(1).waitFor();
}
for (const name of ['B', 'C']) {
  await frame(name).getByTestId('offline').click();
  await frame(name).locator('body[data-ready="true"]').waitFor();
}
const retitle = async (name, title) => {
  const input = frame(name).locator('[data-testid="tasks"] li').first().getByTestId('title');
  await input.fill(title);
  await input.blur();
};
await retitle('A', 'Buy oat milk');
await retitle('B', 'Buy milk and bread');
await retitle('C', 'Buy soy milk');
await add('B', 'Call the plumber');
await add('C', 'Book the train');
await add('A', 'Water the plants');
await frame('B').getByTestId('offline').click();
await frame('B').locator('body[data-pending="0"]').waitFor();
// B's later title beat A's, already in the chain: B's panel lists the conflict it won.
await frame('B').locator('[data-testid^="conflict-"]').first().waitFor();
await page.waitForTimeout(1500); // let every panel redraw its chain before the picture
await page.screenshot({ path: new URL('./screenshot.png', import.meta.url).pathname });
console.log('wrote demo/screenshot.png');
await browser.close();
