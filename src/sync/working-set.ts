/** Applying operations to objects: a pure, total function, so every replica folds the chain alike. */
import type { Operation, Properties } from '../contracts/replica.js';

/**
 * The object after `op`, given the object before it (`null`: absent). Total by design: a Create of
 * an existing object and a Delete or Update of an absent one change nothing, so replaying the
 * chain gives the same result everywhere. Never mutates `current`.
 */
export function applyOperation(current: Properties | null, op: Operation): Properties | null {
  switch (op.type) {
    case 'create':
      return current ?? {};
    case 'delete':
      return null;
    case 'update': {
      if (!current) return null;
      const next: Record<string, Properties[string]> = {};
      for (const [k, v] of Object.entries(current)) if (k !== op.property) define(next, k, v);
      if (op.value !== undefined) define(next, op.property, op.value);
      return next;
    }
  }
}

// defineProperty, not assignment: a property named `__proto__` must stay an ordinary property.
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
