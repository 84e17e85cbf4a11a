import {
  AbortedError,
  DeterminateRemoteError,
  IndeterminateRemoteError,
  InvalidArgumentError,
  RemoteError,
} from '../../contracts/errors.js';
import { sleep } from '../../core/sleep.js';
import { DEFAULT_SETTING_NAMES, type HttpTransportOptions, type SettingNames } from './options.js';

/** A finished HTTP exchange, body read completely. */
export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** One request: reads are retried with backoff, writes are sent exactly once. */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  /** Absolute URL (see {@link HttpTransport.urlOf}). */
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** What the caller is doing, for error messages (e.g. `PUT notes/1`). */
  readonly what: string;
  /** Time the server may take on top of the time limit (a request it holds on purpose), in ms. */
  readonly extraTimeMs?: number;
  /** Aborts this request only (with the backend's own signal, either aborts it). */
  readonly signal?: AbortSignal;
  /** The fetch cache mode (default: the platform's). */
  readonly cache?: RequestCache;
}

/** Network error codes (Node) that prove the request never reached the server. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const DEFAULT_TIMEOUT_MS = 30_000;

function causeCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What a failure before any answer came from (a Node error code, else the error's message). */
export function networkFailureReason(cause: unknown): string {
  return causeCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
}

/**
 * Sends requests for the HTTP backend and the probe: base URL, headers, injected fetch, per-attempt
 * timeout, caller's AbortSignal, read retries, and the Determinate / Indeterminate classification of
 * failures that happen before a status arrives.
 */
export class HttpTransport {
  readonly baseUrl: string;
  /** What messages call the settings behind the options (see {@link SettingNames}). */
  readonly settings: Required<SettingNames>;
  readonly #options: HttpTransportOptions;

  constructor(options: HttpTransportOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options', 'expected an object with at least { baseUrl }.');
    }
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch (cause) {
      throw new InvalidArgumentError(
        'options.baseUrl',
        `expected an absolute http(s) URL, got ${String(options.baseUrl)}.`,
        {
          cause,
        },
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError(
        'options.baseUrl',
        `expected an http: or https: URL, got ${url.protocol}.`,
      );
    }
    if (url.search || url.hash) {
      throw new InvalidArgumentError('options.baseUrl', 'must not have a query or fragment.');
    }
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeout !== 'number' || !(timeout > 0)) {
      throw new InvalidArgumentError(
        'options.timeoutMs',
        `expected a positive number of ms, got ${String(timeout)}.`,
      );
    }
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new InvalidArgumentError('options.fetch', 'expected a fetch-compatible function.');
    }
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.settings = { ...DEFAULT_SETTING_NAMES, ...options.settings };
    this.#options = options;
  }

  /**
   * The URL of `key`: each `/`-separated segment percent-encoded (RFC 3986 unreserved characters
   * kept). Segments `.` and `..` are refused: URL normalization would silently address another key.
   */
  urlOf(key: string): string {
    const segments = key.split('/');
    if (segments.some((segment) => segment === '.' || segment === '..')) {
      throw new InvalidArgumentError(
        'key',
        `${JSON.stringify(key)} has a "." or ".." path segment, which HTTP URL normalization would resolve to another key. Rename it.`,
      );
    }
    const path = segments
      .map((segment) =>
        encodeURIComponent(segment).replace(
          /[!'()*]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
        ),
      )
      .join('/');
    return `${this.baseUrl}/${path}`;
  }

  /** Sends a write once. Failures before a status arrives are classified; statuses are the caller's. */
  async write(request: HttpRequest): Promise<HttpReply> {
    return this.#attempt(request, 'write');
  }

  /** Sends an idempotent read, retrying network failures, timeouts, 429 and 5xx with backoff. */
  async read(request: HttpRequest): Promise<HttpReply> {
    const retry = this.#options.readRetry ?? {};
    const retries = retry.retries ?? 3;
    const base = retry.baseDelayMs ?? 100;
    const max = retry.maxDelayMs ?? 2_000;
    for (let attempt = 0; ; attempt++) {
      let reply: HttpReply | undefined;
      let failure: RemoteError | undefined;
      try {
        reply = await this.#attempt(request, 'read');
      } catch (error) {
        if (!(error instanceof DeterminateRemoteError)) throw error;
        failure = error;
      }
      if (reply !== undefined && reply.status !== 429 && reply.status < 500) return reply;
      if (attempt >= retries) {
        if (failure) throw failure;
        if (reply) return reply;
      }
      const delay = Math.min(max, base * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(delay, this.#signal(request));
      this.#throwIfAborted(request);
    }
  }

  /** The signals that abort `request`: the backend's and the request's own. */
  #signal(request: HttpRequest): AbortSignal | undefined {
    const signals = [this.#options.signal, request.signal].filter((s) => s !== undefined);
    return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  }

  #throwIfAborted(request: HttpRequest): void {
    const signal = this.#signal(request);
    if (signal?.aborted) {
      throw new AbortedError(`${request.what}: aborted through an AbortSignal before it was sent.`, {
        cause: signal.reason,
      });
    }
  }

  async #headers(request: HttpRequest): Promise<Headers> {
    const source = this.#options.headers;
    const headers = new Headers(typeof source === 'function' ? await source() : source);
    for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, value);
    return headers;
  }

  async #attempt(request: HttpRequest, kind: 'read' | 'write'): Promise<HttpReply> {
    this.#throwIfAborted(request);
    const timeoutMs = (this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS) + (request.extraTimeMs ?? 0);
    const timeout = AbortSignal.timeout(timeoutMs);
    const aborts = this.#signal(request);
    const signal = aborts ? AbortSignal.any([timeout, aborts]) : timeout;
    const fetchFn =
      this.#options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
    let headers: Headers;
    try {
      headers = await this.#headers(request);
    } catch (cause) {
      throw new DeterminateRemoteError(
        `${request.what}: computing the request headers (options.headers) failed, so nothing was sent: ${String(cause)}`,
        { cause },
      );
    }
    try {
      const init: RequestInit = { method: request.method, headers, signal };
      if (request.body !== undefined) init.body = request.body as Uint8Array<ArrayBuffer>;
      if (request.cache !== undefined) init.cache = request.cache;
      const response = await fetchFn(request.url, init);
      const body =
        request.method === 'HEAD' ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
      return { status: response.status, headers: response.headers, body };
    } catch (cause) {
      throw this.#classify(request, kind, cause, timeout.aborted ? timeoutMs : undefined);
    }
  }

  #classify(
    request: HttpRequest,
    kind: 'read' | 'write',
    cause: unknown,
    timedOutAfter: number | undefined,
  ): Error {
    // A fetch that classified its own failure (a credentials function that failed before anything
    // was sent: RemoteCredentialsError) knows better than a guess from the request's kind.
    if (cause instanceof RemoteError) return cause;
    const userAborted = this.#signal(request)?.aborted === true && timedOutAfter === undefined;
    if (userAborted && kind === 'read') {
      return new AbortedError(`${request.what}: aborted through an AbortSignal.`, { cause });
    }
    const network = timedOutAfter === undefined && !userAborted;
    const reason =
      timedOutAfter !== undefined
        ? `got no complete answer within ${timedOutAfter} ms (${this.settings.timeout})`
        : userAborted
          ? 'was aborted through the AbortSignal while in flight'
          : `failed on the network (${networkFailureReason(cause)})`;
    if (kind === 'read') {
      return new DeterminateRemoteError(
        `${request.what} ${reason}. A read changes nothing; try again later.`,
        { cause, network },
      );
    }
    if (network && NEVER_SENT.has(causeCode(cause) ?? '')) {
      return new DeterminateRemoteError(
        `${request.what} ${reason}: the server was never reached, so nothing was written. Check ${this.settings.url} and that the server runs.`,
        { cause, network },
      );
    }
    return new IndeterminateRemoteError(
      `${request.what} ${reason} after the request was sent: it may or may not have been applied. ` +
        'Read the object back to find out (never repeat a compare-and-swap blindly).',
      { cause, network },
    );
  }
}
