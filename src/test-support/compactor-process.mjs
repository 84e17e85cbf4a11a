// @ts-check
/* global process */
/**
 * A compactor in a process of its own (test support for compaction-processes.ts): connects to a
 * live remote with the BUILT library (dist/, `npm run build`), runs `RemoteStorage.compact` until
 * it reports nothing `more`, then prints `done` and exits 0.
 *
 * Its deletes go through a gate the parent holds, so a test can stop it at an exact point: before
 * each DELETE it prints `delete <seq> <key>` and waits for `go <seq>` on stdin (`free` opens the
 * gate for good); after it, `deleted <seq>`. Each call's report is printed as `report <json>`.
 *
 * argv[2] is JSON: `{ baseUrl, headers?, s3?: credentials, list: 'json' | 's3', prefix, clientId,
 * options }` (options: RemoteStorage.compact's).
 */
import { createInterface } from 'node:readline';
import { connectRemote } from '../../dist/src/remote/http/connect.js';
import { s3Fetch } from '../../dist/src/remote/http/s3-fetch.js';
import { RemoteStorage } from '../../dist/src/remote/remote-storage.js';

const config = JSON.parse(process.argv[2] ?? '{}');
/** @param {string} line */
const say = (line) => process.stdout.write(`${line}\n`);

let free = false;
/** @type {Map<number, () => void>} */
const waiting = new Map();
/** @type {Set<number>} */
const allowed = new Set();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'free') {
    free = true;
    for (const open of waiting.values()) open();
    waiting.clear();
    return;
  }
  const seq = Number(/^go (\d+)$/.exec(line)?.[1]);
  if (!Number.isInteger(seq)) return;
  const open = waiting.get(seq);
  if (open) {
    waiting.delete(seq);
    open();
  } else allowed.add(seq); // `go` came before the child asked: keep it
});

const backend = await connectRemote({
  baseUrl: config.baseUrl,
  list: config.list,
  ...(config.headers ? { headers: config.headers } : {}),
  ...(config.s3 ? { fetch: s3Fetch(config.s3) } : {}),
});
let deletes = 0;
const gated = new Proxy(backend, {
  get(target, property) {
    if (property === 'delete') {
      return async (/** @type {string} */ key) => {
        const seq = ++deletes;
        say(`delete ${seq} ${key}`);
        if (!free && !allowed.delete(seq))
          await new Promise((resolve) => waiting.set(seq, () => resolve(null)));
        await target.delete(key);
        say(`deleted ${seq}`);
      };
    }
    const value = Reflect.get(target, property, target);
    return typeof value === 'function' ? value.bind(target) : value;
  },
});
const storage = new RemoteStorage(gated, { prefix: config.prefix });
for (;;) {
  const report = await storage.compact(config.clientId, config.options);
  say(`report ${JSON.stringify(report)}`);
  if (!report.more) break;
}
say('done');
process.exit(0); // stdin stays open: end without waiting for it
