import { describe, expect, it } from 'vitest';
import {
  ChainsyncError,
  IndeterminateRemoteError,
  InvalidArgumentError,
  OperationsStuckError,
  OperationTooLargeError,
  PreconditionFailedError,
  RemoteError,
  UnsupportedServerError,
  isChainsyncError,
  reviveError,
  serializeError,
} from './errors.js';
import * as source from './errors.js';

/** Serialize, then pass through structured clone as a worker message would. */
const roundTrip = (error: unknown) => reviveError(structuredClone(serializeError(error)));

describe('errors', () => {
  it('carry a stable code, their class name and a message', () => {
    const e = new InvalidArgumentError('key', 'must not be empty.');
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.name).toBe('InvalidArgumentError');
    expect(e.argument).toBe('key');
    expect(e.message).toBe('Invalid key: must not be empty.');
    expect(isChainsyncError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect(isChainsyncError(e, 'NOT_FOUND')).toBe(false);
    expect(isChainsyncError(new Error('x'))).toBe(false);
  });

  it('remote errors say whether the write may have happened', () => {
    expect(new PreconditionFailedError('lost', { status: 412 }).determinate).toBe(true);
    const e = new IndeterminateRemoteError('timed out');
    expect(e.determinate).toBe(false);
    expect(e.status).toBeUndefined();
  });

  it('survive a structured-clone round trip as the same class with the same fields', () => {
    const revived = roundTrip(new PreconditionFailedError('lost the race', { status: 412 }));
    expect(revived).toBeInstanceOf(PreconditionFailedError);
    expect(revived).toBeInstanceOf(RemoteError);
    expect(revived).toBeInstanceOf(ChainsyncError);
    expect(revived).toMatchObject({ code: 'PRECONDITION_FAILED', determinate: true, status: 412 });
    expect(revived.message).toBe('lost the race');
    expect(revived.name).toBe('PreconditionFailedError');

    const indeterminate = roundTrip(new IndeterminateRemoteError('reset'));
    expect(indeterminate).toMatchObject({ code: 'REMOTE_INDETERMINATE', determinate: false });

    const unsupported = roundTrip(new UnsupportedServerError('nginx ignores If-Match', ['ifMatchPut']));
    expect(unsupported).toBeInstanceOf(UnsupportedServerError);
    expect((unsupported as UnsupportedServerError).failed).toEqual(['ifMatchPut']);

    const invalid = roundTrip(new InvalidArgumentError('seqno', 'too big'));
    expect((invalid as InvalidArgumentError).argument).toBe('seqno');
  });

  it('revive under the class name, whatever name a minified sender gave', () => {
    const revived = reviveError({ name: 'me', message: 'probe PUT x', code: 'REMOTE_FAILED', fields: {} });
    expect(revived).toBeInstanceOf(source.DeterminateRemoteError);
    expect(String(revived)).toBe('DeterminateRemoteError: probe PUT x');
  });

  it('turn foreign errors and thrown non-errors into plain errors', () => {
    const plain = roundTrip(new TypeError('boom'));
    expect(plain).not.toBeInstanceOf(ChainsyncError);
    expect(plain.message).toBe('boom');
    expect(plain.name).toBe('TypeError');
    expect(roundTrip('a string').message).toBe('a string');
  });

  it('operations too big for one version keep their limit and operations across a worker boundary', () => {
    const op = { type: 'update', collection: 'notes', id: 'n', property: 'body', bytes: 9000 } as const;
    const tooLarge = roundTrip(new OperationTooLargeError('too big', 8192, op));
    expect(tooLarge).toBeInstanceOf(OperationTooLargeError);
    expect(tooLarge).toMatchObject({ code: 'OPERATION_TOO_LARGE', limit: 8192, size: 9000, ...op });
    const stuck = roundTrip(new OperationsStuckError('stuck', 8192, [{ seq: 7, ...op }]));
    expect(stuck).toBeInstanceOf(OperationsStuckError);
    expect(stuck).toMatchObject({ code: 'OPERATIONS_STUCK', limit: 8192, operations: [{ seq: 7, ...op }] });
  });
});
