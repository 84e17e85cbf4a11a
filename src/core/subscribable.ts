import type { Unsubscribe } from '../contracts/common.js';
import { assertListener } from './validate.js';

/**
 * The listeners of one kind of value, modelled on TanStack query-core's `Subscribable`:
 * `subscribe` returns the unsubscribe function, `hasListeners` lets the owner skip work nobody
 * would hear of, and a subclass learns of every (un)subscription through `onSubscribe` /
 * `onUnsubscribe`. {@link Subscribable.notify} calls every listener; one that throws is logged with
 * `console.error` and does not keep the value from the others (nor the error from the owner's caller).
 */
export class Subscribable<T> {
  readonly #listeners = new Set<(value: T) => void>();
  readonly #errorMessage: string;

  /** @param errorMessage - what `console.error` says, before the error, when a listener throws. */
  constructor(errorMessage: string) {
    this.#errorMessage = errorMessage;
  }

  /**
   * Calls `listener` with every value notified from now on; returns the unsubscribe function.
   * @throws InvalidArgumentError if `listener` is not a function (here, not at the first value).
   */
  subscribe(listener: (value: T) => void): Unsubscribe {
    assertListener(listener);
    this.#listeners.add(listener);
    this.onSubscribe();
    return () => {
      if (this.#listeners.delete(listener)) this.onUnsubscribe();
    };
  }

  hasListeners(): boolean {
    return this.#listeners.size > 0;
  }

  /** Calls every listener with `value`, in subscription order; a listener that throws is logged. */
  notify(value: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(value);
      } catch (error) {
        console.error(this.#errorMessage, error);
      }
    }
  }

  /** Drops every listener (the owner closes: nothing it notifies later reaches anyone). */
  clear(): void {
    this.#listeners.clear();
  }

  /** Called after each subscription. */
  protected onSubscribe(): void {}

  /** Called after each unsubscription (once per listener, however often its function is called). */
  protected onUnsubscribe(): void {}
}
