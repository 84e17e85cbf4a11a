import { defineConfig } from 'vite';
import { playwright } from '@vitest/browser-playwright';
import type { TestProjectInlineConfiguration } from 'vitest/config';
import type { BrowserConfigOptions } from 'vitest/node';
import { webkitgtk } from './browsers/webkitgtk.js';

/**
 * Debian's Chromium (TOOLCHAIN.md): never a downloaded browser. CHROMIUM_PATH overrides the path.
 * The networking flags keep Chromium from flooding the closed network with background requests.
 */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Debian's Firefox ESR (TOOLCHAIN.md), driven by Playwright over WebDriver BiDi (the `moz-firefox`
 * channel; scripts/patch-playwright-firefox.mjs lets it start). `persist()` never settles in a
 * test profile unless the prompt is answered for it.
 */
export const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
export const firefoxPrefs = {
  'dom.storageManager.prompt.testing': true,
  'dom.storageManager.prompt.testing.allow': true,
};

/** How Vitest and Playwright launch each engine Playwright drives (one place for both). */
export const chromiumLaunch = { executablePath: chromiumPath, args: chromiumArgs };
export const firefoxLaunch = {
  channel: 'moz-firefox',
  executablePath: firefoxPath,
  firefoxUserPrefs: firefoxPrefs,
};

/** Tests that need Node APIs end in `.node.test.ts`; browser-only ones in `.browser.test.ts`. */
const shared = ['src/**/*.test.ts', 'worker/**/*.test.ts', 'demo/**/*.test.ts'];

/**
 * One engine's project: the same browser suites in every engine (the engine is the project, the
 * suite names stay one per contract). `browser` says how this engine is started.
 */
function browserProject(
  name: string,
  browser: Pick<BrowserConfigOptions, 'provider' | 'instances'> & { headless?: boolean },
): TestProjectInlineConfiguration {
  return {
    extends: true,
    test: {
      name,
      include: [...shared, 'src/**/*.browser.test.ts', 'worker/**/*.browser.test.ts'],
      exclude: ['**/*.node.test.ts'],
      testTimeout: 30_000,
      // The reference server that replica tests sync through (its URL is `inject`ed).
      globalSetup: ['e2e/replica-server.global-setup.ts'],
      browser: { enabled: true, headless: true, screenshotFailures: false, ...browser },
    },
  };
}

export default defineConfig({
  optimizeDeps: {
    // Without this Vite discovers these mid-run and reloads the browser tests.
    include: ['idb', 'comlink', 'fast-check'],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: [...shared, 'src/**/*.node.test.ts', 'worker/**/*.node.test.ts'],
          exclude: ['**/*.browser.test.ts'],
          testTimeout: 30_000,
        },
      },
      browserProject('chromium', {
        provider: playwright({ launchOptions: chromiumLaunch }),
        instances: [{ browser: 'chromium' }],
      }),
      browserProject('firefox', {
        provider: playwright({ launchOptions: firefoxLaunch }),
        instances: [{ browser: 'firefox' }],
      }),
      browserProject('webkit', {
        // MiniBrowser has no headless mode: browsers/webkitgtk.ts gives it a virtual display.
        headless: false,
        provider: webkitgtk(),
        instances: [{ browser: 'safari' }],
      }),
    ],
  },
});
