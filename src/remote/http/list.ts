import { DeterminateRemoteError } from '../../contracts/errors.js';
import { fromUtf8 } from '../../core/bytes.js';
import type { ListDialect } from './options.js';
import type { HttpReply, HttpTransport } from './transport.js';

/** One page of a listing and where the next starts. */
interface Page {
  readonly keys: string[];
  readonly next: string | undefined;
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
    const parsed = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(parsed.keys) || parsed.keys.some((k) => typeof k !== 'string')) {
      throw new DeterminateRemoteError(
        `${what}: expected JSON { "keys": [string…] }, got ${text.slice(0, 80)}.`,
      );
    }
    return { keys: parsed.keys as string[], next: undefined };
  }
  const keys = [...text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].flatMap(
    (m) => tag(m[1] ?? '', 'Key') ?? [],
  );
  const truncated = tag(text, 'IsTruncated') === 'true';
  return { keys, next: truncated ? tag(text, 'NextContinuationToken') : undefined };
}

/** Every key starting with `prefix`, ascending (UTF-16 code unit order, like `Array.sort`). */
export async function listKeys(
  transport: HttpTransport,
  dialect: ListDialect,
  prefix: string,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const result = await page(transport, dialect, prefix, token);
    keys.push(...result.keys.filter((k) => k.startsWith(prefix)));
    token = result.next;
  } while (token !== undefined);
  return [...new Set(keys)].sort();
}
