/**
 * Vitest globalSetup of the Chromium project: starts the reference server (Node, loopback only,
 * in a fresh temporary directory) and `provide`s its URL, so browser tests sync replicas through
 * a real HTTP server; and a proxy in front of it that can cut the capability probe's race
 * (`blipProxyUrl`, see blip-proxy.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startServer } from '../src/server/index.js';
import { startBlipProxy } from './blip-proxy.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the reference server the Chromium tests sync through. */
    replicaServerUrl: string;
    /** The same server through a proxy that cuts the probe's race PUTs on request. */
    blipProxyUrl: string;
  }
}

/** The origins Vitest's browser server serves the test pages from (empty until it listens). */
function testPageOrigins(project: TestProject): Set<string> {
  const urls = project.browser?.vite.resolvedUrls;
  return new Set([...(urls?.local ?? []), ...(urls?.network ?? [])].map((url) => new URL(url).origin));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'chainsync-replica-'));
  const server = await startServer({
    dir,
    port: 0,
    // The server refuses web pages it was not told about. The test pages' origin is Vitest's
    // browser server, whose port is free-picked and may be known only once it listens, after this
    // setup: so the origins are looked up when a page calls, and only they are allowed.
    allowOrigins: (origin) => testPageOrigins(project).has(origin),
  });
  project.provide('replicaServerUrl', server.url);
  const proxy = await startBlipProxy(server.url);
  project.provide('blipProxyUrl', proxy.url);
  return async () => {
    await proxy.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  };
}
