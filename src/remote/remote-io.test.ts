import { describe, expect, it } from 'vitest';
import type { ConditionalPut } from '../contracts/remote-backend.js';
import { DeterminateRemoteError } from '../contracts/errors.js';
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
