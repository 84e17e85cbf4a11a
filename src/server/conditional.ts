/**
 * RFC 9110 §13 conditional requests: parsing `If-Match` / `If-None-Match` and evaluating them
 * against an object's current ETag (`null` when the object is absent).
 */

/** One entity tag from a header: `opaque` keeps its quotes, exactly as ETags are sent. */
export interface EntityTag {
  readonly weak: boolean;
  readonly opaque: string;
}

/** A parsed `If-Match` / `If-None-Match` value: `*` or a list of entity tags. */
export type TagCondition = '*' | readonly EntityTag[];

/**
 * Parses `"*"` or `#entity-tag` (comma-separated, empty elements allowed). Returns `null` when the
 * value is malformed (an unquoted tag, a stray character), which the server answers with 400
 * rather than guessing: a misread condition could let a stale write through.
 */
export function parseTagCondition(value: string): TagCondition | null {
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  const tags: EntityTag[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (trimmed[i] === ' ' || trimmed[i] === '\t') i++;
  };
  for (;;) {
    skipSpace();
    if (i >= trimmed.length) break;
    if (trimmed[i] === ',') {
      i++;
      continue;
    }
    const weak = trimmed.startsWith('W/', i);
    if (weak) i += 2;
    if (trimmed[i] !== '"') return null;
    const end = trimmed.indexOf('"', i + 1);
    if (end < 0) return null;
    const opaque = trimmed.slice(i, end + 1);
    // etagc = %x21 / %x23-7E / obs-text: visible characters except the quote, no spaces or controls.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0020\u007f]/.test(opaque)) return null;
    tags.push({ weak, opaque });
    i = end + 1;
    skipSpace();
    if (i < trimmed.length && trimmed[i] !== ',') return null;
  }
  return tags.length > 0 ? tags : null;
}

/** The conditions a request carries (absent headers are `undefined`). */
export interface Conditions {
  readonly ifMatch?: TagCondition;
  readonly ifNoneMatch?: TagCondition;
}

/** What to do with a request after its preconditions are evaluated. */
export type ConditionOutcome = 'proceed' | 'precondition-failed' | 'not-modified';

/**
 * RFC 9110 §13.2.2 order: `If-Match` (strong comparison: a weak tag never matches) first, then
 * `If-None-Match` (weak comparison). A matching `If-None-Match` means 304 for GET/HEAD, 412 otherwise.
 */
export function evaluateConditions(
  conditions: Conditions,
  currentETag: string | null,
  safeMethod: boolean,
): ConditionOutcome {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined) {
    const matches =
      currentETag !== null &&
      (ifMatch === '*' || ifMatch.some((tag) => !tag.weak && tag.opaque === currentETag));
    if (!matches) return 'precondition-failed';
  }
  if (ifNoneMatch !== undefined) {
    const matches =
      currentETag !== null && (ifNoneMatch === '*' || ifNoneMatch.some((tag) => tag.opaque === currentETag));
    if (matches) return safeMethod ? 'not-modified' : 'precondition-failed';
  }
  return 'proceed';
}
