import type { StoredObject } from '../contracts/replica.js';

/** The data set at chain height `height`: `count` objects whose ids and values name the height. */
export function bootstrapSet(height: number, count: number): StoredObject[] {
  return Array.from({ length: count }, (_, i) => ({
    collection: `c${i % 3}`,
    id: `h${height}-${String(i).padStart(6, '0')}`,
    properties: { height, i, text: `object ${i} of the set at height ${height}` },
  }));
}
