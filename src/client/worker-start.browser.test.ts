import { releaseProxy, wrap } from 'comlink';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../worker/engine.js';
import { rejectsWith } from '../testing/conformance/support.js';
import { defaultWorker, openReplica, openStore } from './index.js';

// The worker entry (worker/worker.ts) imports nothing statically: it keeps the messages that
// arrive while it loads its engine with import(), and fails as a worker that did not start when
// that import fails.

/** The URL the dev server serves the engine worker's entry at (the one {@link defaultWorker} spawns). */
function entryUrl(): string {
  const Original = globalThis.Worker;
  let url = '';
  globalThis.Worker = class extends Original {
    constructor(scriptUrl: string | URL, options?: WorkerOptions) {
      super(scriptUrl, options);
      url = String(scriptUrl);
      this.terminate();
    }
  };
  try {
    defaultWorker();
  } finally {
    globalThis.Worker = Original;
  }
  return url;
}

/** The worker entry's source, as the dev server serves it to {@link defaultWorker}. */
async function servedEntry(): Promise<string> {
  const response = await fetch(entryUrl());
  expect(response.ok).toBe(true);
  return response.text();
}

/**
 * A worker running the entry as the dev server serves it, but from a blob: URL, against which no
 * module specifier resolves: its import() of the engine module fails, as it does when the engine's
 * files cannot be fetched.
 */
async function workerWhoseEngineImportFails(): Promise<() => Worker> {
  const source = await servedEntry();
  // What runs: no static import at all, one import() (of the engine module).
  expect(source).not.toMatch(/^\s*import\s*[\w{*'"]/m);
  expect(source.match(/\bimport\s*\(/g)).toHaveLength(1);
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return () => new Worker(url, { type: 'module' });
}

describe('the worker entry', () => {
  it('is served by the dev server with no static import, so nothing can hold its start', async () => {
    // Vite adds `import "…/env.mjs"` to a worker whose options it reads; defaultWorker marks them
    // /* @vite-ignore */ and Vite inlines that module instead. An import here would wait on a
    // service worker intercepting it (msw's in Firefox waits for the worker to run: a deadlock).
    const source = await servedEntry();
    expect(source).not.toMatch(/^\s*import\s*[\w{*'"]/m);
    expect(source).not.toContain('/@vite/env');
    expect(source).not.toMatch(/env\.mjs/);
  });

  it('answers every call sent before its engine module has loaded, in order', async () => {
    const worker = defaultWorker();
    const remote = wrap<Engine>(worker);
    // comlink sends a property's SET when it is assigned and its GET when its `then` is read: the
    // GETs answer what the SETs before them left only if the messages are handled in order.
    const raw = remote as unknown as Record<string, unknown>;
    const read = () => (raw.marker as PromiseLike<unknown>).then((value) => value);
    try {
      // All posted in this task, right after the worker was made: before it has loaded anything.
      raw.marker = 1;
      const first = read();
      const opened = remote.open(`early-${crypto.randomUUID()}`);
      raw.marker = 2;
      const second = read();
      raw.marker = 3;
      expect(await Promise.all([first, second, read()])).toEqual([1, 2, 3]);
      expect(typeof (await opened).pid).toBe('string');
      await remote.close();
    } finally {
      remote[releaseProxy]();
      worker.terminate();
    }
  });

  it('whose engine import fails makes openStore reject with WORKER_TERMINATED, not hang', async () => {
    const worker = await workerWhoseEngineImportFails();
    const error = await rejectsWith(
      openStore(`no-engine-${crypto.randomUUID()}`, { worker }),
      'WORKER_TERMINATED',
    );
    expect(error.message).toMatch(/failed to start .*could not load or start its engine/);
  });

  it('whose engine import fails makes openReplica reject with WORKER_TERMINATED, not hang', async () => {
    const worker = await workerWhoseEngineImportFails();
    const error = await rejectsWith(
      openReplica({ name: `no-engine-${crypto.randomUUID()}`, clientId: crypto.randomUUID(), worker }),
      'WORKER_TERMINATED',
    );
    expect(error.message).toMatch(/failed to start .*could not load or start its engine/);
  });
});
