/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { playwright } from '@vitest/browser-playwright';

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

/** Tests that need Node APIs end in `.node.test.ts`; browser-only ones in `.browser.test.ts`. */
const shared = ['src/**/*.test.ts', 'worker/**/*.test.ts', 'demo/**/*.test.ts'];

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
      {
        extends: true,
        test: {
          name: 'chromium',
          include: [...shared, 'src/**/*.browser.test.ts', 'worker/**/*.browser.test.ts'],
          exclude: ['**/*.node.test.ts'],
          testTimeout: 30_000,
          // The reference server that replica tests sync through (its URL is `inject`ed).
          globalSetup: ['e2e/replica-server.global-setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
