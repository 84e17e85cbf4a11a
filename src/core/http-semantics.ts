/**
 * HTTP semantics (RFC 9110) that both ends of chainsync's HTTP share: entity tags (§8.8.3), their
 * strong and weak comparison (§8.8.3.2), the preconditions `If-Match` / `If-None-Match`
 * (§13.1.1–13.1.2) evaluated in the order of §13.2.2, and how a client reads a refused precondition.
 * The reference server, the msw object server and the HTTP backend and probe all use this one
 * module, so a server and the client that talks to it cannot disagree on what a tag or a match is.
 */
import { fromUtf8 } from './bytes.js';

/** One entity tag. `opaque` keeps its quotes, exactly as ETags are sent (`"abc"`). */
export interface EntityTag {
  readonly weak: boolean;
  readonly opaque: string;
}

/** A parsed `If-Match` / `If-None-Match` value: `*` or a list of entity tags. */
export type TagCondition = '*' | readonly EntityTag[];

/** The conditions a request carries (absent headers are `undefined`). */
export interface Conditions {
  readonly ifMatch?: TagCondition;
  readonly ifNoneMatch?: TagCondition;
}

/** What to do with a request after its preconditions are evaluated. */
export type ConditionOutcome = 'proceed' | 'precondition-failed' | 'not-modified';

const WEAK_PREFIX = 'W/';

/** True for a weak entity tag (`W/"…"`), which RFC 9110 §13.1.1 forbids in `If-Match`. */
export function isWeakETag(etag: string): boolean {
  return etag.startsWith(WEAK_PREFIX);
}

/**
 * The entity tag of an `ETag` field value that a server generated (ours, or one a server sent us):
 * the `W/` prefix makes it weak. Not a validator for untrusted input: that is {@link parseTagCondition}.
 */
export function entityTagOf(etag: string): EntityTag {
  const weak = isWeakETag(etag);
  return { weak, opaque: weak ? etag.slice(WEAK_PREFIX.length) : etag };
}

/** The `ETag` field value of a tag: `"abc"`, or `W/"abc"` when weak. */
export function formatEntityTag(tag: EntityTag): string {
  return tag.weak ? `${WEAK_PREFIX}${tag.opaque}` : tag.opaque;
}

/**
 * An ETag without its surrounding quotes (`"abc"` → `abc`); anything else is returned as is. Some
 * S3-compatible servers match `If-Match` only against this form (see `ServerQuirks.ifMatchUnquoted`).
 */
export function unquotedETag(etag: string): string {
  return etag.replace(/^"(.*)"$/, '$1');
}

/** RFC 9110 §8.8.3.2 strong comparison: neither tag weak, and the same opaque tag. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** RFC 9110 §8.8.3.2 weak comparison: the same opaque tag, weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/**
 * Parses `"*"` or `#entity-tag` (comma-separated, empty elements allowed). Returns `null` when the
 * value is malformed (an unquoted tag, a stray character, `*` inside a list) or names no tag at all:
 * a server should answer that with 400 rather than guess, since a misread condition could let a
 * stale write through. (RFC 9110's `#entity-tag` admits a list of none, which would never match;
 * a field with no tag is far likelier a client's empty version variable than a condition, so it
 * is refused like the other malformed values.)
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
    const weak = trimmed.startsWith(WEAK_PREFIX, i);
    if (weak) i += WEAK_PREFIX.length;
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

/** The precondition header fields, lower-case as Node's `IncomingMessage` and fetch's `Headers` name them. */
export type ConditionField = 'if-match' | 'if-none-match';

/** A precondition field that {@link parseTagCondition} refuses, with the message a 400 should carry. */
export interface MalformedCondition {
  readonly malformed: ConditionField;
  readonly value: string;
  readonly message: string;
}

/**
 * Reads a request's `If-Match` and `If-None-Match` through `field` (`undefined` when absent).
 * Returns the conditions, or the first malformed field (If-Match is read first).
 */
export function readConditions(
  field: (name: ConditionField) => string | undefined,
): Conditions | MalformedCondition {
  const ifMatch = readCondition(field, 'if-match');
  if (isMalformed(ifMatch)) return ifMatch;
  const ifNoneMatch = readCondition(field, 'if-none-match');
  if (isMalformed(ifNoneMatch)) return ifNoneMatch;
  return { ifMatch, ifNoneMatch };
}

/** True when {@link readConditions} found a malformed field. */
export function isMalformed(
  read: Conditions | TagCondition | MalformedCondition | undefined,
): read is MalformedCondition {
  return typeof read === 'object' && 'malformed' in read;
}

function readCondition(
  field: (name: ConditionField) => string | undefined,
  name: ConditionField,
): TagCondition | MalformedCondition | undefined {
  const value = field(name);
  if (value === undefined) return undefined;
  const parsed = parseTagCondition(value);
  if (parsed !== null) return parsed;
  const message = `The ${name} header ${JSON.stringify(value)} is malformed: use * or quoted entity tags, e.g. "abc".`;
  return { malformed: name, value, message };
}

/**
 * Evaluates a request's preconditions against the `ETag` of the target's current representation
 * (`null` when there is none), in the order of RFC 9110 §13.2.2: `If-Match` first (strong
 * comparison: a weak tag on either side never matches), then `If-None-Match` (weak comparison).
 * A matching `If-None-Match` means 304 for GET/HEAD (`safeMethod`), 412 otherwise. The date-based
 * preconditions (steps 2 and 4) and `If-Range` (step 5) are not supported: objects have no dates.
 */
export function evaluateConditions(
  conditions: Conditions,
  currentETag: string | null,
  safeMethod: boolean,
): ConditionOutcome {
  const current = currentETag === null ? null : entityTagOf(currentETag);
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined && !conditionHolds(ifMatch, current, strongMatch)) return 'precondition-failed';
  if (ifNoneMatch !== undefined && conditionHolds(ifNoneMatch, current, weakMatch)) {
    return safeMethod ? 'not-modified' : 'precondition-failed';
  }
  return 'proceed';
}

/** `*` matches any current representation; a list, one that a listed tag matches by `compare`. */
function conditionHolds(
  condition: TagCondition,
  current: EntityTag | null,
  compare: (a: EntityTag, b: EntityTag) => boolean,
): boolean {
  if (current === null) return false;
  return condition === '*' || condition.some((tag) => compare(tag, current));
}

/** A 2xx status. */
export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status <= 299;
}

/**
 * A status that says "not now" rather than anything about the request: a 5xx, or 408 / 425 / 429.
 * The same request may succeed later; it proves nothing about what the server can do.
 */
export function isNotNowStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

/**
 * True when a server refused a conditional request because its precondition did not hold: 412, or
 * S3's 409 `ConditionalRequestConflict` (a concurrent conditional write to the same key).
 */
export function isPreconditionRefusal(reply: {
  readonly status: number;
  readonly body: Uint8Array;
}): boolean {
  if (reply.status === 412) return true;
  return reply.status === 409 && fromUtf8(reply.body).includes('ConditionalRequestConflict');
}

/**
 * The response field with which a server says which preferences it applied (RFC 7240 §3). A
 * server with chainsync's change signal names `wait` in it when it held (or may hold) a
 * conditional GET until the object changed; see docs/live-sync.md.
 */
export const PREFERENCE_APPLIED = 'Preference-Applied';

/**
 * The longest a request asks to be held, and a server holds one, in seconds: well within what
 * proxies and load balancers let an idle connection live, usually 60 s or more.
 */
export const MAX_WAIT_SECONDS = 60;

/**
 * The seconds a request's `Prefer` field asks a server to wait (RFC 7240 §4.3, `wait=<delta-seconds>`),
 * or `null` when it states no usable wait (absent, malformed, or not a whole number). Several
 * preferences may share the field (comma-separated, with `;` parameters); the first `wait` counts.
 */
export function preferredWait(prefer: string | readonly string[] | null | undefined): number | null {
  if (prefer === null || prefer === undefined) return null;
  const fields = typeof prefer === 'string' ? [prefer] : prefer;
  for (const element of fields.join(',').split(',')) {
    const match = /^\s*wait\s*=\s*(?:"(\d{1,9})"|(\d{1,9}))\s*(?:;.*)?$/i.exec(element);
    if (match) return Number(match[1] ?? match[2]);
  }
  return null;
}

/** True when a `Preference-Applied` field names the `wait` preference: the server has the change signal. */
export function appliedWait(field: string | null | undefined): boolean {
  return preferredWait(field) !== null;
}
