import { describe, expect, it, vi } from 'vitest';
import { BlobCollector } from './blob-collector.js';

describe('BlobCollector', () => {
  it('collects after a sync at most once per interval, one collection at a time', async () => {
    let now = 0;
    let release: () => void = () => undefined;
    const collect = vi.fn(() => new Promise<void>((resolve) => (release = resolve)));
    const collector = new BlobCollector(collect, 1000, () => now);
    collector.afterSync();
    expect(collect).toHaveBeenCalledTimes(1);
    now = 5000;
    collector.afterSync(); // due, but the first is still running
    expect(collect).toHaveBeenCalledTimes(1);
    release();
    await collector.idle();
    now = 5500;
    collector.afterSync();
    expect(collect).toHaveBeenCalledTimes(2);
    release();
    await collector.idle();
    now = 6000;
    collector.afterSync(); // 500 ms after the last one started: not due
    expect(collect).toHaveBeenCalledTimes(2);
    now = 6500;
    collector.afterSync();
    expect(collect).toHaveBeenCalledTimes(3);
    release();
    await collector.idle();
  });

  it('logs a failed collection and retries at the next due sync', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let now = 0;
    const collect = vi.fn().mockRejectedValueOnce(new Error('disk gone')).mockResolvedValue(undefined);
    const collector = new BlobCollector(collect, 0, () => now);
    collector.afterSync();
    await collector.idle();
    expect(warn).toHaveBeenCalledWith('chainsync: blob garbage collection failed', expect.any(Error));
    now = 1;
    collector.afterSync();
    await collector.idle();
    expect(collect).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });

  it('refuses a bad interval with INVALID_ARGUMENT', () => {
    for (const bad of [-1, 1.5, NaN, '10', null]) {
      expect(() => new BlobCollector(async () => undefined, bad as number)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});
