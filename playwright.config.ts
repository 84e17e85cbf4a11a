import { defineConfig } from '@playwright/test';
import { chromiumLaunch, firefoxLaunch } from './vite.config.js';

/** Port of the demo the e2e tests drive (`npm run demo` on a fixed port, started by Playwright). */
export const demoPort = Number(process.env.DEMO_PORT ?? 5199);

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.e2e.ts',
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  reporter: 'list',
  use: { baseURL: `http://127.0.0.1:${demoPort}/` },
  projects: [
    {
      name: 'chromium',
      use: { browserName: 'chromium', launchOptions: chromiumLaunch },
    },
    {
      // Debian's Firefox ESR over WebDriver BiDi (TOOLCHAIN.md, scripts/patch-playwright-firefox.mjs).
      name: 'firefox',
      use: { browserName: 'firefox', launchOptions: firefoxLaunch },
    },
  ],
  webServer: {
    command: 'node demo/serve.mjs',
    // A production build: each fresh browser context loads a few bundles, not every source module.
    env: { PORT: String(demoPort), DEMO_BUILD: '1' },
    url: `http://127.0.0.1:${demoPort}/`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
