/** What one member of a coalesced section came to: its own value, or its own error. */
export type Settled<R> =
  { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

interface Member<I, R> {
  readonly item: I;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Coalesces calls that wait for the same turn (a lock) into one section: the first call asks for
 * a turn at once, and every call submitted until that turn begins joins it, in arrival order; calls
 * submitted while a section runs ask for the next turn together. `run` gets the items and answers
 * one outcome per item, so each call keeps its own result and its own error. A lone call asks for
 * its turn exactly as it would alone: nothing waits for company.
 */
export class Coalescer<I, R> {
  readonly #enter: (section: () => Promise<void>) => Promise<void>;
  readonly #run: (items: readonly I[]) => Promise<readonly Settled<R>[]>;
  #queue: Member<I, R>[] = [];

  /**
   * @param enter Runs a section in its turn (e.g. `(s) => lock.run(s)`).
   * @param run Does the work of one section's items; a throw fails every one of them.
   */
  constructor(
    enter: (section: () => Promise<void>) => Promise<void>,
    run: (items: readonly I[]) => Promise<readonly Settled<R>[]>,
  ) {
    this.#enter = enter;
    this.#run = run;
  }

  /** Runs `item` in the next section; resolves or rejects with its own outcome. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#queue.push({ item, resolve, reject }) === 1) this.#requestTurn();
    });
  }

  #requestTurn(): void {
    let began = false;
    this.#enter(() => {
      began = true;
      return this.#section();
    }).catch((error: unknown) => {
      // The turn never came (the lock could not be taken): nobody else will serve those waiting.
      if (began) return;
      for (const member of this.#queue.splice(0)) member.reject(error);
    });
  }

  async #section(): Promise<void> {
    const members = this.#queue;
    this.#queue = [];
    let outcomes: readonly Settled<R>[];
    try {
      outcomes = await this.#run(members.map((m) => m.item));
    } catch (error) {
      for (const member of members) member.reject(error);
      return;
    }
    members.forEach((member, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) member.resolve(outcome.value);
      else member.reject(outcome ? outcome.error : new Error('chainsync: a coalesced call got no outcome'));
    });
  }
}

/** Settles `promise` into a {@link Settled}. */
export async function settle<R>(promise: Promise<R>): Promise<Settled<R>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}
