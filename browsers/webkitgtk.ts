/**
 * Vitest's browser provider for WebKitGTK's MiniBrowser (Safari's engine, from Debian; TOOLCHAIN.md).
 * `@vitest/browser-webdriverio` drives it through `WebKitWebDriver`, with two things it cannot do
 * alone: it only knows the browser names of stock drivers (it sends its own `browserName`, and
 * starts drivers only for those), and MiniBrowser needs a display. So this provider starts
 * `WebKitWebDriver` itself under `xvfb-run` (a private X server that lives as long as the driver),
 * on a free port, and asks it for MiniBrowser with the storage features the tests use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { WebdriverBrowserProvider, webdriverio } from '@vitest/browser-webdriverio';
import type { BrowserProviderOption, TestProject } from 'vitest/node';

export const webKitDriverPath = process.env.WEBKIT_DRIVER_PATH ?? '/usr/bin/WebKitWebDriver';
export const miniBrowserPath =
  process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

const capabilities = {
  browserName: 'MiniBrowser',
  // WebKitWebDriver speaks classic WebDriver, not BiDi.
  'wdio:enforceWebDriverClassic': true,
  'webkitgtk:browserOptions': {
    binary: miniBrowserPath,
    // StorageAPI: navigator.storage.estimate()/persist(), off by default in MiniBrowser.
    args: ['--automation', '--features=+StorageAPI,+StorageAPIEstimate'],
  },
};

/** A free TCP port on 127.0.0.1 (the driver is told to listen on it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Resolves once something accepts connections on `port` (the driver is up), or fails after `ms`. */
async function listening(port: number, driver: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${driver.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/status`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return;
    if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not listen on ${port} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The stock provider, pointed at a WebKitWebDriver it starts and stops. */
class WebKitGtkProvider extends WebdriverBrowserProvider {
  #driver: ChildProcess | null = null;

  constructor(project: TestProject, options: object) {
    super(project, options);
    // Sent as the capabilities' browserName (the stock provider uses the project's browser name).
    (this as unknown as { browserName: string }).browserName = capabilities.browserName;
  }

  override async openBrowser(): Promise<WebdriverIO.Browser> {
    if (!this.#driver) {
      const port = await freePort();
      // Its own process group: stopping it stops xvfb-run's X server and MiniBrowser too.
      this.#driver = spawn('xvfb-run', ['-a', webKitDriverPath, `--port=${port}`], {
        detached: true,
        stdio: 'ignore',
      });
      await listening(port, this.#driver, 30_000);
      const self = this as unknown as { options: object };
      self.options = { ...self.options, hostname: '127.0.0.1', port, capabilities };
    }
    return super.openBrowser();
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      const driver = this.#driver;
      this.#driver = null;
      if (driver?.pid !== undefined && driver.exitCode === null) {
        try {
          process.kill(-driver.pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
    }
  }
}

/** The provider option for a Vitest project `{ browser: 'safari', headless: false }` (see vite.config.ts). */
export function webkitgtk(): BrowserProviderOption {
  const stock = webdriverio({ logLevel: 'silent' });
  return { ...stock, providerFactory: (project) => new WebKitGtkProvider(project, stock.options) };
}
