import { releaseProxy, wrap, type Remote } from 'comlink';
import {
  InvalidArgumentError,
  StoreClosedError,
  WorkerTerminatedError,
  type ChainsyncError,
} from '../contracts/errors.js';
import type { Engine } from '../../worker/engine.js';
import { watchPidLock } from '../../worker/multitab/pid-lock.js';
import { installErrorTransfer } from '../../worker/rpc/error-transfer.js';

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

  /** Runs one call across the boundary; rejects with the typed failure if the worker goes first. */
  call<T>(body: (remote: Remote<Engine>) => Promise<T>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
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
  if ((error as { name?: unknown } | null)?.name === 'DataCloneError') {
    return new InvalidArgumentError(
      'arguments',
      `cannot be sent to the worker (${(error as Error).message}); pass strings, Uint8Arrays, bigints and plain objects.`,
      { cause: error },
    );
  }
  return error;
}
