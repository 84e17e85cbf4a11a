/**
 * Writes held in the network: a request the client gave up on (its timeout passed) that reaches
 * the server later. The dangerous case is a write that lands AFTER the client read the object back
 * and found nothing yet: its retry is then refused (412) although the write is stored. A
 * {@link WriteHolds} produces exactly that, deterministically: no timers, no sleeps. The held write
 * lands right after the next read of its key has been answered (and before that answer reaches the
 * client), or when the test says so.
 *
 * Two places use it: {@link FaultyBackend} (below any remote store, at the contract level) and
 * {@link holdingFetch} (below an HTTP backend, so the real server applies the write when it lands).
 */

/** A write as a {@link WriteHolds} sees it. */
export interface HeldWriteInfo {
  readonly method: 'PUT' | 'DELETE';
  /** The object's key (for {@link holdingFetch}: the URL's decoded path). */
  readonly key: string;
  /** Whether it carries a precondition (`If-Match` / `If-None-Match`): a compare-and-swap. */
  readonly conditional: boolean;
}

/** Which write {@link WriteHolds.hold} holds, and when it lands. */
export interface HoldOptions {
  /** Writes that may be held (default: the conditional ones). */
  readonly match?: (write: HeldWriteInfo) => boolean;
  /** Matching writes to let through first (default 0: hold the next one). */
  readonly skip?: number;
  /**
   * `'after-read-back'` (default): the write lands right after the next read of its key has been
   * answered, before the answer reaches the client — the client reads "not there yet", then the
   * write is stored. `'manual'`: only {@link HeldWrite.land} or {@link HeldWrite.release} land it.
   */
  readonly lands?: 'after-read-back' | 'manual';
}

/** One hold: armed until a matching write comes, then held until it lands. */
export interface HeldWrite {
  /** The write being (or that was) held; `null` while none has come. */
  readonly write: HeldWriteInfo | null;
  /** Whether the held write has reached the server (its answer is dropped either way). */
  readonly landed: boolean;
  /** Resolves with the write once one is held. */
  readonly caught: Promise<HeldWriteInfo>;
  /** Sends the held write on now; resolves once the server answered. No-op unless one is held. */
  land(): Promise<void>;
  /** Ends the hold: disarms it if nothing was caught, lands a write still held. */
  release(): Promise<void>;
}

/** A deterministic schedule of held writes, shared by the adapters that see requests. */
export class WriteHolds {
  readonly #armed: Hold[] = [];
  readonly #held: Hold[] = [];

  /** Holds a coming write (see {@link HoldOptions}). Several holds may be armed at once. */
  hold(options: HoldOptions = {}): HeldWrite {
    const hold = new Hold(options, () => this.#forget(hold));
    this.#armed.push(hold);
    return hold;
  }

  /**
   * For adapters: sends a write on (`send(false)`), or holds it and throws what the client sees
   * when its timeout passes (`timedOut()`); the held write is sent later by `send(true)`.
   */
  async write<T>(
    info: HeldWriteInfo,
    send: (held: boolean) => Promise<T>,
    timedOut: () => unknown,
  ): Promise<T> {
    const index = this.#armed.findIndex((hold) => hold.takes(info));
    if (index < 0) return send(false);
    const [hold] = this.#armed.splice(index, 1);
    this.#held.push(hold!);
    hold!.catch(info, () => send(true));
    throw timedOut();
  }

  /**
   * For adapters: sends a read of `key` (`null` for a listing); the writes held on that key that
   * land after a read-back reach the server between the answer and its delivery to the client.
   */
  async read<T>(key: string | null, send: () => Promise<T>): Promise<T> {
    const answer = await send();
    if (key !== null) {
      for (const hold of this.#held.filter((h) => h.landsAfterReadOf(key))) await hold.land();
    }
    return answer;
  }

  #forget(hold: Hold): void {
    for (const list of [this.#armed, this.#held]) {
      const index = list.indexOf(hold);
      if (index >= 0) list.splice(index, 1);
    }
  }
}

class Hold implements HeldWrite {
  write: HeldWriteInfo | null = null;
  landed = false;
  readonly caught: Promise<HeldWriteInfo>;
  readonly #match: (write: HeldWriteInfo) => boolean;
  readonly #lands: 'after-read-back' | 'manual';
  readonly #done: () => void;
  #skip: number;
  #send: (() => Promise<unknown>) | null = null;
  #landing: Promise<void> | null = null;
  #caught!: (write: HeldWriteInfo) => void;

  constructor(options: HoldOptions, done: () => void) {
    this.#match = options.match ?? ((write) => write.conditional);
    this.#skip = options.skip ?? 0;
    this.#lands = options.lands ?? 'after-read-back';
    this.#done = done;
    this.caught = new Promise((resolve) => (this.#caught = resolve));
  }

  takes(write: HeldWriteInfo): boolean {
    if (!this.#match(write)) return false;
    return this.#skip-- <= 0;
  }

  catch(write: HeldWriteInfo, send: () => Promise<unknown>): void {
    this.write = write;
    this.#send = send;
    this.#caught(write);
  }

  landsAfterReadOf(key: string): boolean {
    return this.#lands === 'after-read-back' && this.write?.key === key && this.#send !== null;
  }

  land(): Promise<void> {
    const send = this.#send;
    if (send === null) return this.#landing ?? Promise.resolve();
    this.#send = null;
    this.#done();
    // Its answer goes nowhere: the client stopped waiting long ago. A refusal is a fine outcome.
    this.#landing = send().then(
      () => void (this.landed = true),
      () => void (this.landed = true),
    );
    return this.#landing;
  }

  async release(): Promise<void> {
    if (this.write === null) this.#done();
    await this.land();
  }
}

/** A `fetch`-compatible function: what {@link holdingFetch} wraps and returns. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Wraps a `fetch` (the global one, a signing one, msw's {@link "chainsync/testing/msw"!inProcessFetch}) so that writes can
 * be held by `holds`: a held PUT or DELETE is not sent; the caller's fetch rejects at once with a
 * `TimeoutError`, as its own timeout would, and the request is sent later exactly as it was (body
 * and headers). Reads (GET, HEAD) of a held write's URL let it land after their answer is read.
 */
export function holdingFetch(
  inner: Fetch,
  holds: WriteHolds = new WriteHolds(),
): {
  fetch: Fetch;
  holds: WriteHolds;
} {
  const fetch: Fetch = async (input, init = {}) => {
    const url = new URL(input);
    const method = (init.method ?? 'GET').toUpperCase();
    const key = decodeURIComponent(url.pathname);
    if (method === 'PUT' || method === 'DELETE') {
      const headers = new Headers(init.headers);
      const conditional = headers.has('if-match') || headers.has('if-none-match');
      return holds.write(
        { method, key, conditional },
        // A held request is sent without the caller's signal: the caller gave up on it long ago.
        (held) => inner(input, held ? { ...init, signal: null } : init),
        () => new DOMException(`${method} ${url.pathname} is held in the network`, 'TimeoutError'),
      );
    }
    if (method !== 'GET' && method !== 'HEAD') return inner(input, init);
    // The answer is read whole before a held write may land, so it really is from before.
    return holds.read(url.search === '' ? key : null, async () => buffered(await inner(input, init)));
  };
  return { fetch, holds };
}

/** `response` with its body read completely. */
async function buffered(response: Response): Promise<Response> {
  const body = await response.arrayBuffer();
  const empty = [101, 204, 205, 304].includes(response.status);
  return new Response(empty ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
