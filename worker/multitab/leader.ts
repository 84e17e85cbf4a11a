/**
 * Leader election over Web Locks: every candidate of `name` requests the same exclusive lock; the
 * browser grants it to exactly one at a time, and hands it to the next candidate when the leader
 * resigns or its tab/worker dies. Works in windows and workers alike.
 */
export class LeaderElection {
  readonly name: string;
  #leader = false;
  #resign: (() => void) | null = null;
  #won: Promise<void>;
  readonly #controller = new AbortController();

  /** Enters the election for `name` at once. */
  constructor(name: string) {
    this.name = name;
    let won!: () => void;
    this.#won = new Promise<void>((r) => (won = r));
    navigator.locks
      .request(`chainsync:leader:${name}`, { signal: this.#controller.signal }, async () => {
        this.#leader = true;
        won();
        await new Promise<void>((r) => (this.#resign = r));
        this.#leader = false;
      })
      .catch(() => undefined); // withdrawn before winning
  }

  /** Whether this candidate leads now. */
  get isLeader(): boolean {
    return this.#leader;
  }

  /** Resolves when this candidate becomes the leader (at once if it is). */
  whenLeader(): Promise<void> {
    return this.#won;
  }

  /** Gives up leadership, or withdraws from the election; another candidate takes over. */
  resign(): void {
    this.#controller.abort();
    this.#resign?.();
  }
}
