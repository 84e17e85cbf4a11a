import { InvalidArgumentError, serializeError, type SerializedError } from '../../src/contracts/errors.js';

/**
 * The engine's contracts that the main thread calls in batches: their methods take and return
 * plain data (structured clone, no proxies, no transfers), so many calls can share one message.
 */
export const BATCHED_CONTRACTS = ['kv', 'consensus', 'storage', 'blobs', 'replica'] as const;

/** A contract of {@link BATCHED_CONTRACTS}. */
export type BatchedContract = (typeof BATCHED_CONTRACTS)[number];

/** One call of a batch: `target[contract][method](...args)` on the worker's side. */
export interface BatchedCall {
  readonly contract: BatchedContract;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** What one call of a batch came to: its value, or its error (typed errors keep code and fields). */
export type BatchOutcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: SerializedError };

/** The parameters of `F`, when it is a method. */
export type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;

/** What calling `F` resolves to, when it is a method. */
export type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/**
 * The worker's side of a batch: runs every call on `target` in arrival order, all issued in the same
 * task inside `enter` (the engine passes group commit's `together`, so the batch's writes share one
 * transaction), and answers once every call settled, one outcome per call: a call that throws or
 * rejects fails alone. A call naming something that is not a method of a batched contract fails
 * with INVALID_ARGUMENT.
 * @throws InvalidArgumentError if `calls` is not an array (nothing is run).
 */
export async function dispatchBatch(
  target: object,
  calls: unknown,
  enter: (body: () => void) => void,
): Promise<BatchOutcome[]> {
  if (!Array.isArray(calls)) throw new InvalidArgumentError('calls', 'must be an array of batched calls.');
  const results: Promise<BatchOutcome>[] = [];
  enter(() => {
    for (const call of calls as unknown[]) results.push(invoke(target, call).then(succeeded, failed));
  });
  // A lone call (the common case: one write, nothing else in its task) needs no gathering.
  return results.length === 1 ? [await (results[0] as Promise<BatchOutcome>)] : Promise.all(results);
}

function succeeded(value: unknown): BatchOutcome {
  return { ok: true, value };
}

function failed(error: unknown): BatchOutcome {
  return { ok: false, error: serializeError(error) };
}

/** Calls one method, synchronously up to its first await; whatever it throws becomes its rejection. */
function invoke(target: object, call: unknown): Promise<unknown> {
  try {
    const { contract, method, args } = checkCall(call);
    // A getter of the engine: it throws STORE_CLOSED when no store is open, failing this call only.
    const object = (target as Record<string, unknown>)[contract] as Record<string, unknown>;
    const fn = object[method];
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError('method', `${contract}.${method} is not a method of the engine.`);
    }
    return Promise.resolve((fn as (...a: unknown[]) => unknown).apply(object, args as unknown[]));
  } catch (error) {
    return Promise.reject(error);
  }
}

function checkCall(call: unknown): BatchedCall {
  const { contract, method, args } = (call ?? {}) as Partial<Record<keyof BatchedCall, unknown>>;
  if (!(BATCHED_CONTRACTS as readonly unknown[]).includes(contract)) {
    throw new InvalidArgumentError('contract', `must be one of ${BATCHED_CONTRACTS.join(', ')}.`);
  }
  // Object.prototype's members (constructor, __proto__, …) are never engine methods.
  if (typeof method !== 'string' || method in Object.prototype || method.startsWith('_')) {
    throw new InvalidArgumentError('method', `${JSON.stringify(method)} is not a method of the engine.`);
  }
  if (!Array.isArray(args)) throw new InvalidArgumentError('args', 'must be an array.');
  return { contract: contract as BatchedContract, method, args };
}
