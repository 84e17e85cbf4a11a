import { transferHandlers, type TransferHandler } from 'comlink';
import { reviveError, serializeError, type SerializedError } from '../../src/contracts/errors.js';

interface Thrown {
  value: unknown;
}

/**
 * Makes errors thrown on one side of comlink arrive on the other as the same chainsync error
 * classes, `code` and fields included (comlink's own handler keeps only name, message and stack).
 * Both sides must install it; doing so twice is harmless.
 */
export function installErrorTransfer(): void {
  const builtin = transferHandlers.get('throw') as TransferHandler<Thrown, SerializedError> | undefined;
  if (!builtin || (builtin as { chainsync?: true }).chainsync) return;
  const handler: TransferHandler<Thrown, SerializedError> & { chainsync: true } = {
    chainsync: true,
    canHandle: builtin.canHandle,
    serialize: ({ value }) => [serializeError(value), []],
    deserialize: (data) => {
      throw reviveError(data);
    },
  };
  transferHandlers.set('throw', handler);
}
