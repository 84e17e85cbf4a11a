import { describe, expect, it } from 'vitest';
import { CodeLoadError, reviveError, serializeError } from '../contracts/errors.js';
import { lazyPart } from './lazy-part.js';

/** An importer whose answers the test chooses, counting its calls. */
function importer<M>(...answers: (M | Error)[]) {
  let calls = 0;
  const importModule = () => {
    const answer = answers[Math.min(calls++, answers.length - 1)]!;
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { importModule, calls: () => calls };
}

describe('lazyPart', () => {
  it('imports on the first load only, and concurrent loads share that import', async () => {
    const module = { sign: () => 'signed' };
    const { importModule, calls } = importer(module);
    const part = lazyPart('the signer', importModule);
    expect(calls()).toBe(0);
    const [a, b] = await Promise.all([part.load(), part.load()]);
    expect(a).toBe(module);
    expect(b).toBe(module);
    expect(await part.load()).toBe(module);
    expect(calls()).toBe(1);
  });

  it('fails a load with CODE_LOAD_FAILED naming the part, then imports again on the next load', async () => {
    const module = { sign: () => 'signed' };
    const offline = new TypeError('Failed to fetch dynamically imported module');
    const { importModule, calls } = importer<typeof module>(offline, module);
    const part = lazyPart('the S3 request signer (SigV4)', importModule);

    const error = await part.load().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CodeLoadError);
    expect(error).toMatchObject({
      code: 'CODE_LOAD_FAILED',
      part: 'the S3 request signer (SigV4)',
      cause: offline,
    });
    expect((error as Error).message).toContain('check the network');
    expect((error as Error).message).toContain('retry');

    // Not a cached rejection: the next load imports again, and succeeds.
    expect(await part.load()).toBe(module);
    expect(calls()).toBe(2);
  });

  it('crosses the worker boundary as the same typed error', () => {
    const revived = reviveError(
      structuredClone(serializeError(new CodeLoadError('the signer', { cause: new Error('404') }))),
    );
    expect(revived).toBeInstanceOf(CodeLoadError);
    expect(revived).toMatchObject({ code: 'CODE_LOAD_FAILED', part: 'the signer', name: 'CodeLoadError' });
  });

  it('returns a provided module without importing (a service worker cannot import())', async () => {
    const module = { sign: () => 'signed' };
    const { importModule, calls } = importer<typeof module>(new Error('import() is disallowed'));
    const part = lazyPart('the signer', importModule);
    part.provide(module);
    expect(await part.load()).toBe(module);
    expect(calls()).toBe(0);
  });
});
