import type { StoreNames } from 'idb';
import { ChainsyncError } from '../../src/contracts/errors.js';
import {
  isConnectionLoss,
  mapIdbError,
  type Durability,
  type IdbConnection,
  type WriteTx,
} from './connection.js';
import type { ChainsyncDb } from './schema.js';

type Names = StoreNames<ChainsyncDb>;

/**
 * One logical write of a group. `run` is called inside the group's transaction, after every earlier
 * write of the group ran (so it reads their effects), and may be called again on a new transaction
 * (connection lost, or another write of the group failed unexpectedly): it must depend only on what
 * it reads. To refuse, it throws a {@link ChainsyncError} BEFORE issuing any write request: the
 * shared transaction goes on for the others. Any other error aborts the transaction; the failing
 * write gets that error and the rest run again without it.
 */
export interface GroupWrite<S extends Names[], T> {
  run(tx: WriteTx<S>): T | Promise<T>;
  /** Called once the transaction holding the write committed, in commit order, before it resolves. */
  committed?(result: T): void;
  /** The group's transaction is strict if any of its writes asks for it. Default relaxed. */
  durability?: Durability;
}

interface Queued<S extends Names[]> {
  readonly write: GroupWrite<S, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A write of the group threw something other than a refusal: the transaction must not commit. */
class WriteFailed {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {}
}

/** Depth of {@link together} calls under way: while above 0, idle groups hold their first write. */
let togetherDepth = 0;
/** The drains held back by {@link together}, started (in arrival order) when its body returns. */
const held: Array<() => void> = [];

/**
 * Runs `body`, letting every write it issues synchronously, to any {@link GroupCommit}, enter the
 * same group: an idle group holds its first write instead of starting a transaction for it alone,
 * and starts one for all of them as `body` returns (still in the same task: nothing waits longer).
 * The worker runs the calls of one message from the main thread (a batch, worker/rpc/call-batch.ts)
 * in it, so N puts sent together commit in one transaction, not one for the first and one for the
 * rest. Writes that `body` issues after an await are not held. `body` must not modify what it
 * passed to a write until `together` returns (the engine passes fresh structured clones).
 */
export function together<T>(body: () => T): T {
  togetherDepth++;
  try {
    return body();
  } finally {
    // Even if body threw: the writes it issued before throwing must not be left waiting.
    if (--togetherDepth === 0) for (const start of held.splice(0)) start();
  }
}

/**
 * Group commit over one set of object stores: a write that arrives while a readwrite transaction of
 * this group is being prepared or committed waits for it and then shares the next transaction with
 * every other write that arrived meanwhile, in arrival order. IndexedDB pays per transaction (about
 * a millisecond, mostly the commit), so N concurrent writes cost a few transactions instead of N.
 * A write with no transaction in flight starts its own at once, synchronously: it never waits for
 * company. Each write keeps its own result: it resolves only after its transaction committed,
 * refusals are its own, and an aborted transaction (quota, a lost connection twice) rejects every
 * write it held, with nothing of them written.
 */
export class GroupCommit<S extends Names[]> {
  readonly #connection: IdbConnection;
  readonly #stores: S;
  #queue: Queued<S>[] = [];
  /** A group is being prepared or committed: later writes queue for the next one. */
  #busy = false;

  constructor(connection: IdbConnection, stores: S) {
    this.#connection = connection;
    this.#stores = stores;
  }

  /** A write of {@link together} is held: the group starts when its body returns. */
  #held = false;

  /**
   * True while a group is in flight: a write now would wait for the next transaction (and so be
   * issued after the caller went on). Writes held by {@link together} are issued before it returns.
   */
  get busy(): boolean {
    return this.#busy && !this.#held;
  }

  /** Runs `write` in the next group transaction; resolves with its result once that committed. */
  write<T>(write: GroupWrite<S, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#busy) {
        this.#busy = true;
        if (togetherDepth === 0) void this.#drain();
        else {
          this.#held = true;
          held.push(() => {
            this.#held = false;
            void this.#drain();
          });
        }
      }
    });
  }

  /** Runs groups until nobody waits. Never rejects: every write's promise is settled by #runGroup. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      await this.#runGroup(group);
    }
    this.#busy = false;
  }

  async #runGroup(group: Queued<S>[]): Promise<void> {
    let members = group;
    while (members.length > 0) {
      const current = members;
      let outcomes: Outcome[];
      try {
        outcomes = await this.#connection.write(
          this.#stores,
          (tx) => runInOrder(tx, current),
          current.some((m) => m.write.durability === 'strict') ? 'strict' : 'relaxed',
        );
      } catch (error) {
        if (error instanceof WriteFailed) {
          // Only that write failed; the transaction aborted with nothing written: run the others again.
          current[error.index]?.reject(mapIdbError(error.error));
          members = current.filter((_, i) => i !== error.index);
          continue;
        }
        for (const m of current) m.reject(error);
        return;
      }
      current.forEach((m, i) => {
        const outcome = outcomes[i] as Outcome;
        if (!outcome.ok) return m.reject(outcome.error);
        try {
          m.write.committed?.(outcome.value);
        } catch (error) {
          // The write committed: a failing hook (a listener) must not leave it, or the group, hanging.
          console.error('chainsync: a commit hook threw', error);
        }
        m.resolve(outcome.value);
      });
      return;
    }
  }
}

/** The group's body: each write in arrival order, each seeing the requests of the ones before. */
async function runInOrder<S extends Names[]>(tx: WriteTx<S>, members: Queued<S>[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < members.length; i++) {
    try {
      const result = (members[i] as Queued<S>).write.run(tx);
      // A write that needs no read answers synchronously: no round through the microtask queue.
      outcomes.push({ ok: true, value: result instanceof Promise ? await result : result });
    } catch (error) {
      if (error instanceof ChainsyncError) {
        outcomes.push({ ok: false, error });
        continue;
      }
      // The transaction itself failed (lost connection, aborted under us): the whole group's matter.
      const name = (error as { name?: unknown } | null)?.name;
      if (isConnectionLoss(error) || name === 'AbortError') throw error;
      throw new WriteFailed(i, error);
    }
  }
  return outcomes;
}
