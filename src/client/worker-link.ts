import { releaseProxy, wrap, type Remote } from 'comlink';
import {
  InvalidArgumentError,
  reviveError,
  StoreClosedError,
  WorkerTerminatedError,
  type ChainsyncError,
} from '../contracts/errors.js';
import type { Engine } from '../../worker/engine.js';
import { watchPidLock } from '../../worker/multitab/pid-lock.js';
import type {
  ArgsOf,
  BatchedCall,
  BatchedContract,
  BatchOutcome,
  ResultOf,
} from '../../worker/rpc/call-batch.js';
import { installErrorTransfer } from '../../worker/rpc/error-transfer.js';

/** A call of {@link WorkerLink.request} waiting for its batch to be sent or answered. */
interface QueuedCall {
  readonly call: BatchedCall;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The main thread's end of one engine worker. Every call goes through {@link WorkerLink.call}, which
 * rejects, with a typed error, as soon as the worker is known to be gone: terminated through this
 * link or the Worker object, failed to start, or dead for any reason (its pid's Web Lock was
 * released). comlink alone would leave such calls pending forever.
 */
export class WorkerLink {
  readonly remote: Remote<Engine>;
  readonly #terminate: () => void;
  #failure: ChainsyncError | null = null;
  readonly #pending = new Set<(error: unknown) => void>();
  #started = false;
  #pidWatch: { cancel(): void } | null = null;
  /** The requests of the current task, sent together at its end (see {@link WorkerLink.request}). */
  #queue: QueuedCall[] = [];
  /** comlink's stub for `engine.batch`, made once: each property read on a comlink proxy makes a new one. */
  readonly #sendBatch: (calls: BatchedCall[]) => Promise<BatchOutcome[]>;

  constructor(worker: Worker) {
    installErrorTransfer();
    this.#terminate = worker.terminate.bind(worker);
    // Whoever terminates the worker, pending calls must settle.
    worker.terminate = () => {
      this.#terminate();
      this.#die(new WorkerTerminatedError('The chainsync worker was terminated; open the store again.'));
    };
    worker.addEventListener('error', (event) => {
      // Before it answered, an error means the script did not load or crashed at start.
      if (!this.#started) {
        event.preventDefault();
        this.#die(
          new WorkerTerminatedError(
            `The chainsync worker failed to start (${event.message || 'script error'}); check the worker URL or pass a worker factory.`,
          ),
        );
      }
    });
    this.remote = wrap<Engine>(worker);
    this.#sendBatch = this.remote.batch;
  }

  /** The error calls fail with, once the worker is gone. */
  get failure(): ChainsyncError | null {
    return this.#failure;
  }

  /** Marks the worker started and watches its pid lock: when the lock is released, the worker is dead. */
  started(pid: string): void {
    this.#started = true;
    this.#pidWatch = watchPidLock(pid, () =>
      this.#die(new WorkerTerminatedError('The chainsync worker died; open the store again.')),
    );
  }

  /**
   * Calls `engine[contract][method](...args)`, a method of a contract that takes and returns plain
   * data. The requests issued in one task cross to the worker as ONE message, sent in a microtask
   * (so a lone request waits for nothing else), and come back in one reply: the worker runs them in
   * the order they were issued, its writes sharing one group commit, and each request resolves with
   * its own result or rejects with its own typed error. Rejects with the typed failure if the
   * worker goes first.
   */
  request<C extends BatchedContract, M extends keyof Engine[C] & string>(
    contract: C,
    method: M,
    ...args: ArgsOf<Engine[C][M]>
  ): Promise<ResultOf<Engine[C][M]>> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#pending.add(reject);
      const queued = {
        call: { contract, method, args },
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      if (this.#queue.push(queued) === 1) queueMicrotask(this.#flush);
    });
  }

  /** Sends the requests queued so far (none: nothing to do; a call() may have sent them already). */
  readonly #flush = (): void => {
    const queued = this.#queue;
    if (queued.length === 0) return;
    this.#queue = [];
    this.#send(queued);
  };

  #send(queued: readonly QueuedCall[]): void {
    // Once the worker is gone, #die has rejected every pending request.
    if (this.#failure) return;
    const settle = (q: QueuedCall, outcome: BatchOutcome | undefined): void => {
      this.#pending.delete(q.reject);
      if (outcome?.ok) q.resolve(outcome.value);
      else if (outcome) q.reject(reviveError(outcome.error));
      else q.reject(new WorkerTerminatedError('The chainsync worker answered a batch without this call.'));
    };
    this.#sendBatch(queued.map((q) => q.call)).then(
      (outcomes) => queued.forEach((q, i) => settle(q, outcomes[i])),
      (error: unknown) => {
        // One argument structured clone cannot carry refuses the whole message before it is
        // posted: send the requests one by one, so only that one fails.
        if (isDataCloneError(error) && queued.length > 1) {
          for (const q of queued) this.#send([q]);
          return;
        }
        for (const q of queued) {
          this.#pending.delete(q.reject);
          q.reject(cloneError(error));
        }
      },
    );
  }

  /** Runs one call across the boundary; rejects with the typed failure if the worker goes first. */
  call<T>(body: (remote: Remote<Engine>) => Promise<T>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    // Requests issued before this call go first, so the worker sees every call in issue order.
    this.#flush();
    // Each pending call registers its reject, dropped once it settles (racing every call against
    // one long-lived promise would pile reactions on it for the life of the store).
    return new Promise<T>((resolve, reject) => {
      this.#pending.add(reject);
      body(this.remote)
        .then(resolve, (error: unknown) => reject(cloneError(error)))
        .finally(() => this.#pending.delete(reject));
    });
  }

  /**
   * Closes the engine cleanly, then ends the worker. Pending and later calls fail with STORE_CLOSED
   * (`error`, when the caller knows better why the store closed than "closed").
   */
  async close(error?: StoreClosedError): Promise<void> {
    if (this.#failure) return;
    // The engine releases its pid lock on close: that is not a death.
    this.#pidWatch?.cancel();
    this.#pidWatch = null;
    try {
      await this.call((r) => r.close());
    } catch {
      // the worker is gone already: nothing left to close
    }
    this.#die(error ?? new StoreClosedError('The store is closed; open it again.'));
    this.#terminate();
  }

  #die(error: ChainsyncError): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const reject of this.#pending) reject(error);
    this.#pending.clear();
    this.#pidWatch?.cancel();
    this.remote[releaseProxy]();
  }
}

/** An argument structured clone cannot carry (a function, a DOM node, …) is bad input, typed as such. */
function cloneError(error: unknown): unknown {
  if (isDataCloneError(error)) {
    return new InvalidArgumentError(
      'arguments',
      `cannot be sent to the worker (${(error as Error).message}); pass strings, Uint8Arrays, bigints and plain objects.`,
      { cause: error },
    );
  }
  return error;
}

function isDataCloneError(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'DataCloneError';
}
