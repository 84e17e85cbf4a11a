import { describe, expect, it } from 'vitest';
import type { ConditionalPut } from '../contracts/remote-backend.js';
import { DeterminateRemoteError, IndeterminateRemoteError } from '../contracts/errors.js';
import { utf8 } from '../core/bytes.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { RemoteIo } from './remote-io.js';

/** Refuses every conditional write with `status`, counting the attempts. */
class RefusingBackend extends MemoryRemoteBackend {
  attempts = 0;
  constructor(readonly status: number) {
    super();
  }
  override async uploadConditional(_key: string, _data: Uint8Array, _condition: ConditionalPut) {
    this.attempts++;
    throw new DeterminateRemoteError(`refused with ${this.status}`, { status: this.status });
    return '';
  }
}

/**
 * Times out its first conditional write (the request stays in the network: it may land any time),
 * then refuses every later attempt with `status`. Nothing is stored meanwhile.
 */
class TimeoutThenRefusing extends RefusingBackend {
  override async uploadConditional(key: string, data: Uint8Array, condition: ConditionalPut) {
    if (this.attempts === 0) {
      this.attempts++;
      throw new IndeterminateRemoteError('timed out after the request was sent');
    }
    return super.uploadConditional(key, data, condition);
  }
}

describe('RemoteIo', () => {
  it('does not retry a write the server refused for what it is (413), and retries a 503 or 429', async () => {
    for (const [status, attempts] of [
      [413, 1],
      [400, 1],
      [503, 3],
      [429, 3],
    ] as const) {
      const backend = new RefusingBackend(status);
      const io = new RemoteIo(backend, { attempts: 3, delayMs: 0 });
      await expect(
        io.writeConditional('k', utf8('x'), { ifAbsent: true }, () => 'unknown'),
      ).rejects.toMatchObject({ code: 'REMOTE_FAILED', status });
      expect(backend.attempts).toBe(attempts);
    }
  });

  it('reports a write as indeterminate when a later attempt fails determinately: the first may still land', async () => {
    for (const [status, attempts] of [
      [503, 3],
      [413, 2],
    ] as const) {
      const backend = new TimeoutThenRefusing(status);
      const io = new RemoteIo(backend, { attempts: 3, delayMs: 0 });
      const error = await io
        .writeConditional('k', utf8('x'), { ifAbsent: true }, () => 'unknown')
        .catch((e: unknown) => e);
      expect([status, error]).toMatchObject([status, { code: 'REMOTE_INDETERMINATE' }]);
      expect((error as Error).message).toContain(`refused with ${status}`);
      expect(backend.attempts).toBe(attempts);
    }
  });

  it('reports a write as indeterminate when even the read-back after it fails', async () => {
    const backend = new FaultyBackend(new MemoryRemoteBackend(), {
      readFailure: 1,
      maxConsecutiveFaults: 99,
    });
    const io = new RemoteIo(backend, { attempts: 3, delayMs: 0 });
    backend.holds.hold({ lands: 'manual' });
    await expect(
      io.writeConditional('k', utf8('x'), { ifAbsent: true }, () => 'unknown'),
    ).rejects.toMatchObject({ code: 'REMOTE_INDETERMINATE' });
  });
});
