/**
 * The events on their way from the worker to the main thread's listener, which comlink calls over
 * the listener's own MessagePort. No engine orders messages across two ports: Firefox delivers the
 * answer to a write (on the worker's port) before the change event the write caused (on the
 * listener's port), so a page that awaited the write had not heard of it yet. A call that causes
 * events therefore answers only once they have been delivered ({@link MainThreadEvents.delivered}):
 * when a write's promise resolves, the listener has heard of it, in every engine.
 */
export class MainThreadEvents<E> {
  readonly #listener: (event: E) => unknown;
  readonly #inFlight = new Set<Promise<void>>();
  #detached = false;

  /** `listener` is the main thread's (a comlink proxy: its call resolves once the page ran it). */
  constructor(listener: (event: E) => unknown) {
    this.#listener = listener;
  }

  /** Sends `event` (nothing once detached). */
  send(event: E): void {
    if (this.#detached) return;
    let call: unknown;
    try {
      call = this.#listener(event);
    } catch {
      return;
    }
    // It rejects if the main thread went away: nothing is left to tell.
    const delivery: Promise<void> = Promise.resolve(call)
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  /** Resolves once every event sent so far has been delivered (or could not be). */
  async delivered(): Promise<void> {
    if (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Stops sending: the listener is dropped. */
  detach(): void {
    this.#detached = true;
  }

  /** Runs `call`, then answers once the events sent meanwhile (and before) have been delivered. */
  async after<T>(call: Promise<T>): Promise<T> {
    const result = await call;
    await this.delivered();
    return result;
  }
}
