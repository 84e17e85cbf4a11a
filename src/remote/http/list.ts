import { DeterminateRemoteError } from '../../contracts/errors.js';
import type { ListedObject } from '../../contracts/remote-backend.js';
import { fromUtf8 } from '../../core/bytes.js';
import type { ListDialect } from './options.js';
import type { HttpReply, HttpTransport } from './transport.js';

/** One page of a listing and where the next starts. */
interface Page {
  readonly objects: ListedObject[];
  readonly next: string | undefined;
}

/** A size as a listing states it: a whole number of bytes, else unknown. */
function sizeOf(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity[0] === '#') {
      return String.fromCodePoint(
        entity[1] === 'x' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10),
      );
    }
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    return named[entity] ?? '';
  });
}

function tag(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match?.[1] === undefined ? undefined : decodeXml(match[1]);
}

function failed(reply: HttpReply, what: string): DeterminateRemoteError {
  return new DeterminateRemoteError(
    `${what}: the server answered ${reply.status}; it may not support listing with this dialect (options.list).`,
    { status: reply.status },
  );
}

async function page(
  transport: HttpTransport,
  dialect: ListDialect,
  prefix: string,
  token: string | undefined,
): Promise<Page> {
  const what = `list ${JSON.stringify(prefix)}`;
  const query = new URLSearchParams();
  if (dialect === 'json') query.set('list', prefix);
  else {
    query.set('list-type', '2');
    query.set('prefix', prefix);
    if (token !== undefined) query.set('continuation-token', token);
  }
  const url = dialect === 'json' ? `${transport.baseUrl}/?${query}` : `${transport.baseUrl}?${query}`;
  const reply = await transport.read({ method: 'GET', url, what });
  if (reply.status < 200 || reply.status > 299) throw failed(reply, what);
  const text = fromUtf8(reply.body);
  if (dialect === 'json') {
    let parsed: { keys?: unknown; bytes?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = {}; // Not JSON (a server that answers with a page of its own): not a listing.
    }
    if (!Array.isArray(parsed?.keys) || parsed.keys.some((k) => typeof k !== 'string')) {
      throw new DeterminateRemoteError(
        `${what}: expected JSON { "keys": [string…] }, got ${text.slice(0, 80)}.`,
      );
    }
    // `bytes` (the sizes, in the keys' order) is newer than `keys`: an older server leaves it out.
    const sizes: unknown[] = Array.isArray(parsed.bytes) ? parsed.bytes : [];
    const objects = (parsed.keys as string[]).map((key, i) => ({ key, bytes: sizeOf(sizes[i]) }));
    return { objects, next: undefined };
  }
  const objects = [...text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].flatMap((m) => {
    const key = tag(m[1] ?? '', 'Key');
    return key === undefined ? [] : [{ key, bytes: sizeOf(tag(m[1] ?? '', 'Size')) }];
  });
  const truncated = tag(text, 'IsTruncated') === 'true';
  return { objects, next: truncated ? tag(text, 'NextContinuationToken') : undefined };
}

/**
 * Every object whose key starts with `prefix`, with its size where the listing states it,
 * ascending by key (UTF-16 code unit order, like `Array.sort`).
 */
export async function listObjects(
  transport: HttpTransport,
  dialect: ListDialect,
  prefix: string,
): Promise<ListedObject[]> {
  const objects = new Map<string, ListedObject>();
  let token: string | undefined;
  do {
    const result = await page(transport, dialect, prefix, token);
    for (const object of result.objects) if (object.key.startsWith(prefix)) objects.set(object.key, object);
    token = result.next;
  } while (token !== undefined);
  return [...objects.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
