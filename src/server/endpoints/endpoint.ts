/** What the reference server's endpoints share: one endpoint a file, each given these two. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { evaluateConditions, type Conditions } from '../../core/http-semantics.js';
import type { ChangeWaits } from '../../core/change-waits.js';
import type { ObjectStore, Precondition } from '../object-store.js';
import type { ResponseWriter } from '../responses.js';

/** The server's state and settings, the same for every request. */
export interface ServerContext {
  readonly store: ObjectStore;
  /** Largest accepted PUT body, in bytes. */
  readonly maxBodyBytes: number;
  readonly responses: ResponseWriter;
  /** The change signal's held requests (`Prefer: wait` on a conditional GET). */
  readonly waits: ChangeWaits;
  /** False: `Prefer: wait` is ignored, as by a server without the signal (`ServerOptions.changeSignal`). */
  readonly changeSignal: boolean;
}

/** A request for one object, past the dispatcher: authorized, its key valid, its preconditions parsed. */
export interface ObjectRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly key: string;
  readonly conditions: Conditions;
}

/**
 * An endpoint for one object. It answers through `context.responses`, or throws an `HttpError`
 * that the dispatcher answers.
 */
export type ObjectEndpoint = (context: ServerContext, object: ObjectRequest) => Promise<void>;

/**
 * The store's check for a PUT or DELETE: the request's preconditions hold for the object's current
 * ETag. The store runs it under the key's lock, so the check and the change are one atomic step.
 */
export function writePrecondition(conditions: Conditions): Precondition {
  return (currentETag) => evaluateConditions(conditions, currentETag, false) === 'proceed';
}
