import { describe, expect, it } from 'vitest';
import { DeterminateRemoteError } from '../contracts/errors.js';
import { MemoryRemoteBackend } from '../memory/memory-remote-backend.js';
import { dataSetUse } from './data-set-use.js';

const bytes = (n: number) => new Uint8Array(n);

describe('dataSetUse', () => {
  it("counts the data set's objects, their bytes and the chain's version indexes, and nothing outside its prefix", async () => {
    const backend = new MemoryRemoteBackend();
    await backend.upload('set/chain/c1/client', bytes(100));
    await backend.upload('set/chain/c1/i/v1', bytes(10));
    await backend.upload('set/chain/c1/i/v2', bytes(10));
    await backend.upload('set/chain/c1/c/000000000001', bytes(500));
    await backend.upload('set/blobs/abc', bytes(1_000));
    await backend.upload('set/meta/encryption', bytes(50));
    await backend.upload('settings/x', bytes(7)); // another prefix that starts alike
    expect(await dataSetUse(backend, 'set', 'set/chain/c1/i/')).toEqual({
      objects: 6,
      bytes: 1_670,
      versions: 2,
    });
  });

  it('null where the backend cannot list or the server refuses the listing; a failure to reach it is thrown', async () => {
    const backend = new MemoryRemoteBackend();
    const cannot = Object.assign(Object.create(backend) as MemoryRemoteBackend, { listObjects: undefined });
    expect(await dataSetUse(cannot, 'set', 'set/chain/c/i/')).toBeNull();
    const refusing = Object.assign(Object.create(backend) as MemoryRemoteBackend, {
      listObjects: () => Promise.reject(new DeterminateRemoteError('list: the server answered 404')),
    });
    expect(await dataSetUse(refusing, 'set', 'set/chain/c/i/')).toBeNull();
    const unreachable = Object.assign(Object.create(backend) as MemoryRemoteBackend, {
      listObjects: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(dataSetUse(unreachable, 'set', 'set/chain/c/i/')).rejects.toThrow('Failed to fetch');
  });

  it('bytes are null when the listing states no sizes', async () => {
    const backend = new MemoryRemoteBackend();
    await backend.upload('set/a', bytes(3));
    const sizeless = Object.assign(Object.create(backend) as MemoryRemoteBackend, {
      listObjects: async (prefix: string) =>
        (await backend.listObjects(prefix)).map((o) => ({ ...o, bytes: null })),
    });
    expect(await dataSetUse(sizeless, 'set', 'set/chain/c/i/')).toEqual({
      objects: 1,
      bytes: null,
      versions: 0,
    });
  });
});
