import { describe, expect, it } from 'vitest';
import { NIL_UUID, type Storage, type StorageTxn, type Uuid } from '../contracts/storage.js';
import { TransactionConflictError, type ChainsyncError } from '../contracts/errors.js';
import { MemoryStorage } from '../memory/memory-storage.js';
import { DEFAULT_TXN_ATTEMPTS, withStorageTxn } from './storage-txn-retry.js';

const uuid = (): Uuid => crypto.randomUUID();
const bytes = new Uint8Array([1]);

async function newClient(storage: Storage): Promise<Uuid> {
  const client = uuid();
  const txn = await storage.txn(client);
  await txn.newClient(NIL_UUID);
  await txn.commit();
  return client;
}

/** Adds a version on the client's latest in a transaction of its own: the race a reader loses. */
async function compete(storage: Storage, client: Uuid): Promise<void> {
  const txn = await storage.txn(client);
  const head = (await txn.getClient())!.latestVersionId;
  await txn.addVersion(uuid(), head, bytes);
  await txn.commit();
}

async function rejection(promise: Promise<unknown>): Promise<ChainsyncError> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  return error as ChainsyncError;
}

describe('withStorageTxn', () => {
  /** A storage, a client, and a body that loses every race (a competitor commits after its read). */
  async function alwaysLosing() {
    const storage = new MemoryStorage();
    const client = await newClient(storage);
    const state = { storage, client, runs: 0 };
    const body = async (txn: StorageTxn) => {
      state.runs++;
      const head = (await txn.getClient())!.latestVersionId;
      await compete(storage, client);
      await txn.addVersion(uuid(), head, bytes);
    };
    return { state, body };
  }

  it('gives up after `attempts` lost races with TRANSACTION_CONFLICT, the last conflict as its cause', async () => {
    const { state, body } = await alwaysLosing();
    const error = await rejection(withStorageTxn(state.storage, state.client, body, { attempts: 3 }));
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect(error.message).toMatch(/3 transaction\(s\) in a row lost the race/);
    expect(error.cause).toBeInstanceOf(TransactionConflictError);
    expect(state.runs).toBe(3);
    // Only the competitors' versions landed.
    const check = await state.storage.txn(state.client);
    expect((await check.getVersionsAfter(NIL_UUID, 10)).length).toBe(3);
  });

  it(`tries ${DEFAULT_TXN_ATTEMPTS} times by default`, async () => {
    const { state, body } = await alwaysLosing();
    const error = await rejection(withStorageTxn(state.storage, state.client, body));
    expect(error.code).toBe('TRANSACTION_CONFLICT');
    expect(state.runs).toBe(DEFAULT_TXN_ATTEMPTS);
  });

  it("passes any other error through at once, the body's or the commit's", async () => {
    const storage = new MemoryStorage();
    const client = await newClient(storage);
    let runs = 0;
    const conflict = await rejection(
      withStorageTxn(storage, client, async (txn) => {
        runs++;
        await txn.addVersion(uuid(), uuid(), bytes); // not the latest once one exists
        await txn.addVersion(uuid(), uuid(), bytes);
      }),
    );
    expect(conflict.code).toBe('VERSION_CONFLICT');
    expect(runs).toBe(1);
    const finished = await rejection(withStorageTxn(storage, client, async (txn) => txn.commit()));
    expect(finished.code).toBe('TRANSACTION_FINISHED');
  });

  it('rejects bad arguments with INVALID_ARGUMENT before opening a transaction', async () => {
    let opened = 0;
    const storage: Storage = {
      txn: async (clientId) => {
        opened++;
        return new MemoryStorage().txn(clientId);
      },
    };
    const body = async () => undefined;
    const cases: Array<[string, Promise<unknown>]> = [
      ['storage', withStorageTxn(null as never, uuid(), body)],
      ['storage', withStorageTxn({} as never, uuid(), body)],
      ['body', withStorageTxn(storage, uuid(), 'body' as never)],
      ['options.attempts', withStorageTxn(storage, uuid(), body, { attempts: 0 })],
      ['options.attempts', withStorageTxn(storage, uuid(), body, { attempts: 1.5 })],
    ];
    for (const [argument, promise] of cases) {
      const error = await rejection(promise);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect((error as { argument?: string }).argument).toBe(argument);
    }
    expect(opened).toBe(0);
  });
});
