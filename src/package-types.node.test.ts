/**
 * Every public entry's declarations type-check in a strict consumer (`skipLibCheck: false`) that
 * has installed the packed package with its dependencies and only the peer dependencies that entry
 * needs: an app that never imports `chainsync/testing/msw` must not need msw to compile.
 * Run after `npm run build`, as `npm test` does.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  makeConsumer,
  packPackage,
  pkg,
  typeCheck,
  type ConsumerEnvironment,
} from './test-support/packed-package.js';

/** A browser app's compiler settings; the default of `typeCheck`. */
const BROWSER: ConsumerEnvironment = {};
/** A service worker's: the WebWorker lib, no DOM. */
const SERVICE_WORKER: ConsumerEnvironment = { lib: ['ES2022', 'WebWorker'] };
/** A Node app's: no DOM, Node's types. */
const NODE: ConsumerEnvironment = { lib: ['ES2022'], types: ['node'] };
/** A Node app with the DOM lib, which msw's own declarations (its WebSocket interceptor) need. */
const NODE_WITH_DOM: ConsumerEnvironment = { lib: ['ES2022', 'DOM'], types: ['node'] };

/** Each subpath export: the peer dependencies it needs, and where it runs. */
const ENTRIES: Record<string, { peers: string[]; environments: ConsumerEnvironment[] }> = {
  '.': { peers: [], environments: [BROWSER] },
  './worker': { peers: [], environments: [BROWSER] },
  './sw': { peers: [], environments: [BROWSER, SERVICE_WORKER] },
  './query': { peers: ['@tanstack/query-core'], environments: [BROWSER] },
  './testing': { peers: [], environments: [BROWSER, NODE] },
  './testing/msw': { peers: ['msw'], environments: [BROWSER, NODE_WITH_DOM] },
  './testing/conformance': { peers: ['vitest'], environments: [BROWSER, NODE] },
  './server': { peers: [], environments: [NODE] },
};

/** The packages a consumer in `environment` has besides the peers: Node's types in a Node app. */
function environmentPackages(environment: ConsumerEnvironment): string[] {
  return (environment.types ?? []).map((name) => `@types/${name}`);
}

/** Type-checks a consumer importing `subpath` with `peers` installed; the diagnostics. */
function checkEntry(subpath: string, peers: string[], environment: ConsumerEnvironment): string[] {
  const consumer = makeConsumer(packed, [...peers, ...environmentPackages(environment)]);
  try {
    const specifier = `${pkg.name}${subpath.slice(1)}`;
    const file = consumer.write('index.ts', `import * as entry from '${specifier}';\nexport { entry };\n`);
    return typeCheck([file], environment);
  } finally {
    consumer.dispose();
  }
}

const packed = packPackage();
afterAll(() => packed.dispose());

describe('public entry declarations', () => {
  it('name every subpath export and only declared, optional peers', () => {
    const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');
    expect(Object.keys(ENTRIES).sort()).toEqual(subpaths.sort());
    for (const { peers } of Object.values(ENTRIES)) {
      for (const peer of peers) {
        expect(pkg.peerDependencies, peer).toHaveProperty([peer]);
        // The main entry needs none of them: each is optional.
        expect(pkg.peerDependenciesMeta[peer]?.optional, peer).toBe(true);
      }
    }
  });

  for (const [subpath, { peers, environments }] of Object.entries(ENTRIES)) {
    for (const environment of environments) {
      const where =
        environment === BROWSER
          ? 'a browser app'
          : environment === SERVICE_WORKER
            ? 'a service worker (ES2022, WebWorker)'
            : `a Node app (${environment.lib!.join(', ')})`;
      const withPeers = peers.length ? `with only ${peers.join(', ')}` : 'with no peer dependency';
      it(`${subpath} type-checks in ${where} ${withPeers}`, { timeout: 120_000 }, () => {
        expect(checkEntry(subpath, peers, environment)).toEqual([]);
      });
    }
  }

  it('the consumer is isolated: an entry without its peer fails to type-check', { timeout: 120_000 }, () => {
    const diagnostics = checkEntry('./query', [], BROWSER);
    expect(diagnostics.join('\n')).toMatch(/TS2307: Cannot find module '@tanstack\/query-core'/);
  });
});
