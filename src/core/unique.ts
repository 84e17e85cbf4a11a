/**
 * A source of tokens unique per call and never repeated, across instances too: a random prefix per
 * source and a counter. Memory implementations use it for versions and ETags (no ABA).
 */
export function uniqueTokens(): () => string {
  const prefix = crypto.randomUUID().slice(0, 8);
  let n = 0;
  return () => `${prefix}.${(++n).toString(36)}`;
}
