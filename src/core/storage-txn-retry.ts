import { InvalidArgumentError, TransactionConflictError } from '../contracts/errors.js';
import type { Storage, StorageTxn, Uuid } from '../contracts/storage.js';
import { assertCount, assertListener } from './validate.js';

/** Options of {@link withStorageTxn}. */
export interface StorageTxnRetryOptions {
  /** How many transactions to try before giving up: at least 1, default {@link DEFAULT_TXN_ATTEMPTS}. */
  readonly attempts?: number;
}

/** How many transactions {@link withStorageTxn} tries by default. */
export const DEFAULT_TXN_ATTEMPTS = 8;

/**
 * Runs `body` in a new transaction on `clientId` and commits it; when the commit loses a race
 * (TRANSACTION_CONFLICT: another transaction changed the client since this one first read it, and
 * nothing was applied), runs `body` again in a fresh transaction, which reads the new state.
 *
 * `Storage` is optimistic (a transaction never blocks another; the first commit wins), so every
 * caller that writes must retry a lost race: this is that loop, once. `body` reads and writes
 * through the transaction it is given and must not commit it; it may run several times, so it
 * should have no effects outside the transaction. Any other error (from `body` or the commit) is
 * passed through at once.
 *
 * @returns what `body` returned in the transaction that committed.
 * @throws TransactionConflictError when all `attempts` transactions lost their race (the last
 * conflict is the `cause`); InvalidArgumentError on bad arguments, before any transaction.
 */
export async function withStorageTxn<T>(
  storage: Storage,
  clientId: Uuid,
  body: (txn: StorageTxn) => Promise<T>,
  options: StorageTxnRetryOptions = {},
): Promise<T> {
  if (typeof (storage as Partial<Storage> | null)?.txn !== 'function') {
    throw new InvalidArgumentError('storage', 'expected a Storage (an object with a txn() method).');
  }
  assertListener(body, 'body');
  const attempts = options?.attempts ?? DEFAULT_TXN_ATTEMPTS;
  assertCount(attempts, 'options.attempts');
  if (attempts < 1) throw new InvalidArgumentError('options.attempts', 'expected at least 1.');
  let lost: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const txn = await storage.txn(clientId);
    const result = await body(txn);
    try {
      await txn.commit();
      return result;
    } catch (error) {
      if (!(error instanceof TransactionConflictError)) throw error;
      lost = error;
    }
  }
  throw new TransactionConflictError(
    `Client ${clientId}: ${attempts} transaction(s) in a row lost the race to other writers; nothing of them was applied. Try again later, or with more attempts.`,
    { cause: lost },
  );
}
