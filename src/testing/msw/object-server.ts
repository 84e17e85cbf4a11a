import { HttpResponse, delay, http, type HttpHandler } from 'msw';
import {
  evaluateConditions,
  formatEntityTag,
  isMalformed,
  MAX_WAIT_SECONDS,
  preferredWait,
  PREFERENCE_APPLIED,
  readConditions,
} from '../../core/http-semantics.js';
import { uniqueTokens } from '../../core/unique.js';
import { ChangeWaits } from '../../core/change-waits.js';

/** Methods the object server answers. */
export type ObjectMethod = 'GET' | 'HEAD' | 'PUT' | 'DELETE';

/**
 * A one-shot fault for the next matching request(s):
 * - `status`: answer with `status` (default 503) instead of serving the request;
 * - `drop`: break the connection (the client's `fetch` rejects with a network error).
 * With `applied: true` the request is carried out first (a write is stored), THEN the fault
 * happens: the indeterminate case, where the client cannot know its write landed.
 */
export interface ObjectServerFault {
  readonly kind: 'status' | 'drop';
  /** Only requests with this method (default: any). */
  readonly method?: ObjectMethod;
  /** How many matching requests it hits (default 1). */
  readonly times?: number;
  readonly status?: number;
  /** Body of a `status` fault (default `injected fault`), e.g. an S3 XML error. */
  readonly body?: string;
  readonly applied?: boolean;
}

/** Behaviour switches, changeable while the server runs. */
export interface ObjectServerBehaviour {
  /** Delay before each request is handled, in ms. */
  latencyMs: number;
  /** A broken server: `If-Match` / `If-None-Match` are ignored (stale writes win). */
  ignorePreconditions: boolean;
  /** ETags are sent weak (`W/"…"`), so `If-Match` can never match them (strong comparison). */
  weakETags: boolean;
  /** Answer `GET <base>/?list=<prefix>` with `{ "keys": [...], "bytes": [...] }` (the sizes). */
  list: boolean;
  /**
   * The change signal, as the reference server has it (docs/live-sync.md): a GET with
   * `Prefer: wait=N` whose answer would be 304 (or 404) is held until the object is written or
   * deleted, at most N seconds, and answered with `Preference-Applied`. Default false: a plain
   * ETag server, on which a replica polls.
   */
  changeSignal: boolean;
}

/** Options of {@link createObjectServer}. */
export interface ObjectServerOptions extends Partial<ObjectServerBehaviour> {
  /** URL the server answers under, e.g. `https://objects.test/space` (no trailing slash needed). */
  readonly baseUrl: string;
}

/** One request as the server saw it (for asserting what a client sent). */
export interface ObjectServerRequest {
  readonly method: string;
  readonly key: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** An in-memory RFC 9110 object server for msw, with fault injection. */
export interface ObjectServer {
  /** Pass to `setupServer(...handlers)` (msw/node) or `setupWorker(...handlers)` (browser). */
  readonly handlers: HttpHandler[];
  readonly baseUrl: string;
  /** Live switches: set e.g. `server.behaviour.latencyMs = 200` mid-test. */
  readonly behaviour: ObjectServerBehaviour;
  /** Every request received, in order. */
  readonly requests: ObjectServerRequest[];
  /** Queues a one-shot fault. */
  inject(fault: ObjectServerFault): void;
  /** Faults queued by {@link ObjectServer.inject} that have not fired yet. */
  pendingFaults(): number;
  /** Stored objects' bytes by key (a copy). */
  snapshot(): Map<string, Uint8Array>;
  /** Forgets objects, faults and the request log. */
  reset(): void;
}

interface StoredObject {
  readonly data: Uint8Array;
  readonly etag: string;
}

/**
 * msw 2 handlers implementing an object server in memory: GET / HEAD / PUT / DELETE with strong
 * ETags unique per write, `If-Match` / `If-None-Match` evaluated per RFC 9110 §13.2 on every method
 * (a malformed one is refused with 400, as the reference server does), an optional JSON listing, and fault injection (latency, 5xx, applied-then-dropped, a server that
 * ignores preconditions, weak ETags). Writes are atomic: each request's check and write happen in
 * one synchronous step.
 */
export function createObjectServer(options: ObjectServerOptions): ObjectServer {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const origin = base.origin;
  const objects = new Map<string, StoredObject>();
  const faults: Array<ObjectServerFault & { left: number }> = [];
  const requests: ObjectServerRequest[] = [];
  const nextTag = uniqueTokens();
  let resets = 0;
  const behaviour: ObjectServerBehaviour = {
    latencyMs: options.latencyMs ?? 0,
    ignorePreconditions: options.ignorePreconditions ?? false,
    weakETags: options.weakETags ?? false,
    list: options.list ?? true,
    changeSignal: options.changeSignal ?? false,
  };
  /** Held GETs (the change signal), released by a write or delete of their key; no cap here. */
  const waits = new ChangeWaits(Number.POSITIVE_INFINITY);
  const changed = (key: string) => waits.changed(key);

  /** The ETag the server sends for a stored tag: weak in the `weakETags` fault mode. */
  const shown = (etag: string): string => formatEntityTag({ weak: behaviour.weakETags, opaque: etag });

  function takeFault(method: string): ObjectServerFault | undefined {
    const index = faults.findIndex((f) => f.method === undefined || f.method === method);
    if (index < 0) return undefined;
    const fault = faults[index]!;
    if (--fault.left <= 0) faults.splice(index, 1);
    return fault;
  }

  /**
   * Evaluates the request's preconditions against the ETag the server shows for `current` (so in
   * the `weakETags` fault mode `If-Match` never matches: strong comparison). Returns the response
   * that answers the request instead (400 when one is malformed, 304, 412), if any. A server that ignores
   * preconditions does not read them at all.
   */
  function preconditionRefusal(request: Request, current: StoredObject | undefined): Response | undefined {
    if (behaviour.ignorePreconditions) return undefined;
    const conditions = readConditions((name) => request.headers.get(name) ?? undefined);
    if (isMalformed(conditions)) return new HttpResponse(conditions.message, { status: 400 });
    const safeMethod = request.method === 'GET' || request.method === 'HEAD';
    const outcome = evaluateConditions(conditions, current ? shown(current.etag) : null, safeMethod);
    if (outcome === 'proceed') return undefined;
    return new HttpResponse(null, {
      status: outcome === 'not-modified' ? 304 : 412,
      headers: current ? { ETag: shown(current.etag) } : {},
    });
  }

  function serve(request: Request, key: string, body: Uint8Array | undefined): Response {
    const current = objects.get(key);
    const refusal = preconditionRefusal(request, current);
    if (refusal !== undefined) return refusal;
    switch (request.method) {
      case 'GET':
      case 'HEAD': {
        if (!current) return new HttpResponse(null, { status: 404 });
        const headers = { ETag: shown(current.etag), 'Content-Length': String(current.data.length) };
        return new HttpResponse(request.method === 'GET' ? current.data.slice() : null, {
          status: 200,
          headers,
        });
      }
      case 'PUT': {
        const etag = `"${nextTag()}"`;
        objects.set(key, { data: body!, etag });
        changed(key);
        return new HttpResponse(null, { status: current ? 204 : 201, headers: { ETag: shown(etag) } });
      }
      case 'DELETE': {
        if (!current) return new HttpResponse(null, { status: 404 });
        objects.delete(key);
        changed(key);
        return new HttpResponse(null, { status: 204 });
      }
      default:
        return new HttpResponse(null, { status: 405, headers: { Allow: 'GET, HEAD, PUT, DELETE' } });
    }
  }

  /**
   * Serves the request, holding a GET that asks to wait (`Prefer: wait`) while its answer says
   * nothing new, when the server has the change signal. The check and the registration are one
   * synchronous step, so no write can slip between them.
   */
  async function serveOrHold(request: Request, key: string, body: Uint8Array | undefined): Promise<Response> {
    const wait =
      behaviour.changeSignal && request.method === 'GET'
        ? preferredWait(request.headers.get('prefer'))
        : null;
    let response = serve(request, key, body);
    if (wait === null) return response;
    const seconds = Math.min(wait, MAX_WAIT_SECONDS);
    const unchanged =
      response.status === 304 || (response.status === 404 && !request.headers.has('if-match'));
    if (seconds > 0 && unchanged) {
      const etagOf = () => objects.get(key)?.etag ?? null;
      const held = waits.hold(key, etagOf(), etagOf, seconds, (release) =>
        request.signal.aborted
          ? release()
          : request.signal.addEventListener('abort', release, { once: true }),
      );
      if (held) await held;
      response = serve(request, key, body);
    }
    response.headers.set(PREFERENCE_APPLIED, `wait=${seconds}`);
    return response;
  }

  /** `GET <base>/<dir>/?list=<prefix>`: keys under `<dir>/<prefix>`, relative to `<dir>/`, and their sizes. */
  function listing(dir: string, url: URL): Response {
    if (!behaviour.list) return new HttpResponse(null, { status: 404 });
    const prefix = dir + (url.searchParams.get('list') ?? '');
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    return HttpResponse.json({
      keys: keys.map((k) => k.slice(dir.length)),
      bytes: keys.map((k) => objects.get(k)?.data.byteLength ?? 0),
    });
  }

  const handler = http.all(
    ({ request }) => {
      const url = new URL(request.url);
      return url.origin === origin && url.pathname.startsWith(`${basePath}/`);
    },
    async ({ request }) => {
      const url = new URL(request.url);
      const path = url.pathname.slice(basePath.length + 1);
      // Read the body before anything else: the check and the write below must not be split by an await.
      const body = request.method === 'PUT' ? new Uint8Array(await request.arrayBuffer()) : undefined;
      let key: string;
      try {
        key = path.split('/').map(decodeURIComponent).join('/');
      } catch {
        return new HttpResponse('malformed percent-encoding', { status: 400 });
      }
      const isListing =
        (key === '' || key.endsWith('/')) && request.method === 'GET' && url.searchParams.has('list');
      if (!isListing)
        requests.push({ method: request.method, key, headers: Object.fromEntries(request.headers) });
      if (behaviour.latencyMs > 0) {
        const generation = resets;
        await delay(behaviour.latencyMs);
        // A request still waiting when the server was reset belongs to a finished test: drop it
        // rather than let it take a later test's faults or write into its objects.
        if (generation !== resets) return HttpResponse.error();
      }
      if (isListing) return listing(key, url);
      if (key === '') return new HttpResponse('missing key', { status: 400 });
      const fault = takeFault(request.method);
      // `applied` faults carry the request out first: the client cannot tell that it landed.
      const response = !fault || fault.applied ? await serveOrHold(request, key, body) : undefined;
      if (!fault) return response;
      if (fault.kind === 'drop') return HttpResponse.error();
      return new HttpResponse(fault.body ?? 'injected fault', { status: fault.status ?? 503 });
    },
  );

  return {
    handlers: [handler],
    baseUrl: `${origin}${basePath}`,
    behaviour,
    requests,
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    pendingFaults() {
      return faults.reduce((n, f) => n + f.left, 0);
    },
    snapshot() {
      return new Map([...objects].map(([k, v]) => [k, v.data.slice()]));
    },
    reset() {
      resets++;
      waits.releaseAll();
      objects.clear();
      faults.length = 0;
      requests.length = 0;
    },
  };
}
