/**
 * The README's quickstart runs as written: its first program is served by Vite from a fresh
 * consumer of the packed package (no bundler config) and run in Chromium, syncing through the
 * reference server on 127.0.0.1; a second browser (its own IndexedDB) sees the first one's task.
 * Only the server's URL is changed, to the port the test's server got. Run after `npm run build`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright';
import { createServer, createLogger } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from './server/index.js';
import { repoRoot } from './test-support/imports.js';
import { makeConsumer, packPackage } from './test-support/packed-package.js';
import { quickstartPrograms } from './test-support/readme.js';
import { chromiumArgs, chromiumPath } from '../vite.config.js';

/** The server URL the quickstart names, the one its paragraph's `npx chainsync-server` serves. */
const README_SERVER_URL = 'http://127.0.0.1:8080/';

const packed = packPackage();
afterAll(() => packed.dispose());

describe('README quickstart in Chromium', () => {
  it(
    'runs as written against the reference server, and another browser sees its task',
    { timeout: 180_000 },
    async () => {
      const [program] = quickstartPrograms(readFileSync(resolve(repoRoot, 'README.md'), 'utf8'));
      expect(program).toContain(README_SERVER_URL);
      const objects = mkdtempSync(join(tmpdir(), 'chainsync-quickstart-objects-'));
      const consumer = makeConsumer(packed, []);
      let origin = '';
      const server = await startServer({ dir: objects, port: 0, allowOrigins: (o) => o === origin });
      const warnings: string[] = [];
      const logger = createLogger('warn');
      const vite = await createServer({
        root: consumer.dir,
        configFile: false,
        logLevel: 'warn',
        // Vite reports a map's missing sources with warnOnce: both are kept.
        customLogger: {
          ...logger,
          warn: (msg, options) => (warnings.push(msg), logger.warn(msg, options)),
          warnOnce: (msg, options) => (warnings.push(msg), logger.warnOnce(msg, options)),
        },
        server: {
          host: '127.0.0.1',
          port: 0,
          fs: { allow: [consumer.dir, resolve(repoRoot, 'node_modules')] },
        },
      });
      const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
      try {
        consumer.write(
          'index.html',
          '<!doctype html><ul id="tasks"></ul><script type="module" src="/quickstart.ts"></script>\n',
        );
        consumer.write(
          'quickstart.ts',
          program!.replace(README_SERVER_URL, `${server.url.replace(/\/?$/, '/')}`),
        );
        await vite.listen();
        const url = vite.resolvedUrls!.local[0]!;
        origin = new URL(url).origin;
        const errors: string[] = [];
        const open = async () => {
          const page = await (await browser.newContext()).newPage();
          page.on('pageerror', (error) => errors.push(String(error)));
          await page.goto(url);
          return page;
        };
        const first = await open();
        await expect
          .poll(() => first.locator('#tasks li').allTextContents(), { timeout: 120_000 })
          .toEqual(['○ Buy milk']);
        // A second browser, its own IndexedDB: its own task and, once synced, the first one's.
        const second = await open();
        await expect.poll(() => second.locator('#tasks li').count(), { timeout: 120_000 }).toBe(2);
        expect(errors).toEqual([]);
        expect(warnings.filter((w) => /missing source/.test(w))).toEqual([]);
      } finally {
        await browser.close();
        await vite.close();
        await server.close();
        consumer.dispose();
        rmSync(objects, { recursive: true, force: true });
      }
    },
  );
});
