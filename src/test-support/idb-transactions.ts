/**
 * Counts IndexedDB readwrite transactions, for group-commit tests: by wrapping
 * `IDBDatabase.prototype.transaction` in this realm, never by timing. Call `restore()` when done.
 */
export interface TransactionCounter {
  /** How many readwrite transactions touching the store were started since the counter was made. */
  count(): number;
  /** The latest of them. */
  last(): IDBTransaction;
  /** Puts the original `transaction` back. */
  restore(): void;
}

/** Counts the readwrite transactions started on `store` from now on (in this realm). */
export function countReadwriteTransactions(store: string): TransactionCounter {
  const started: IDBTransaction[] = [];
  const proto = IDBDatabase.prototype;
  const transaction = proto.transaction;
  proto.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
    const tx = transaction.apply(this, args);
    const names = typeof args[0] === 'string' ? [args[0]] : [...args[0]];
    if (args[1] === 'readwrite' && names.includes(store)) started.push(tx);
    return tx;
  } as typeof transaction;
  return {
    count: () => started.length,
    last: () => started.at(-1)!,
    restore: () => void (proto.transaction = transaction),
  };
}
