/**
 * Decompression bombs for the engine's tests (not public API): segment bodies that are valid for
 * their place in the chain but mostly whitespace, gzipped in the plain envelope every chain is
 * written in (`[0x01][1][gzip]`), so nothing but a bound on inflating stops them.
 */
import { utf8 } from '../core/bytes.js';
import { gzip } from '../sync/compression.js';
import type { VersionPlace } from '../sync/segments.js';

/** A valid segment body for `place` (one create of `tasks/t`) carrying `padding` bytes of whitespace. */
export function paddedSegmentBody(place: VersionPlace, padding: number): Uint8Array {
  const { clientId, versionId, parentVersionId, height } = place;
  const head = `{"v":1,"c":"${clientId}","id":"${versionId}","p":"${parentVersionId}","h":${height},"ops":[["c","tasks","t"]]`;
  const body = new Uint8Array(head.length + padding + 1);
  body.set(utf8(head));
  body.fill(0x20, head.length, head.length + padding);
  body[body.length - 1] = 0x7d; // }
  return body;
}

/** `body` gzipped in the plain envelope, `[0x01][1][gzip]`, as an unencrypted chain holds it. */
export async function plainGzipped(body: Uint8Array): Promise<Uint8Array> {
  const gz = await gzip(body);
  const out = new Uint8Array(2 + gz.length);
  out.set([0x01, 1]);
  out.set(gz, 2);
  return out;
}
