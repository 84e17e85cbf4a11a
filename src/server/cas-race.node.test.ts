/**
 * 16 concurrent writers × 100 compare-and-swap rounds on ONE key of the reference server. Each round
 * reads the counter (GET), increments it and writes it back with `If-Match` (PUT); a 412 ends the
 * round (the write lost), a 204 is an acknowledged increment. Barriers make every round a 16-way
 * race: all writers read before any writes, so all 16 PUTs carry the same `If-Match`, and all
 * finish before the next round reads. Exactly one may win each round. If two writers could both
 * commit from the same version (a double commit, a lost update), a round would have two winners,
 * two acknowledgements would carry the same count, and the chain of versions would fork.
 *
 * The writers use `node:http` with keep-alive rather than `fetch`: on two shared cores undici's
 * fetch costs more CPU than the server, and the point here is the server under contention.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startServer, type RunningServer } from './server.js';

const WRITERS = 16;
const ROUNDS = 100;

interface Counter {
  readonly count: number;
  readonly by: string;
}

interface Ack {
  readonly base: string;
  readonly etag: string;
  readonly value: Counter;
}

/** Resolves for everyone once `parties` callers are waiting; reusable round after round. */
function barrier(parties: number): () => Promise<void> {
  let waiting = 0;
  let release!: () => void;
  let gate = new Promise<void>((resolve) => (release = resolve));
  return () => {
    const current = gate;
    if (++waiting === parties) {
      waiting = 0;
      const open = release;
      gate = new Promise<void>((resolve) => (release = resolve));
      open();
    }
    return current;
  };
}

let dir: string;
let server: RunningServer;
const agent = new Agent({ keepAlive: true });

interface Reply {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

function send(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, agent }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, etag: response.headers.etag, body: text }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chainsync-race-'));
  server = await startServer({ dir, port: 0 });
});

afterAll(async () => {
  agent.destroy();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

it(`${WRITERS} writers × ${ROUNDS} CAS rounds on one key: no double commit, no acknowledged increment lost`, async () => {
  const url = `${server.url}counter`;
  const initial = await send(url, 'PUT', JSON.stringify({ count: 0, by: 'init' }));
  expect(initial.status).toBe(201);
  const initialETag = initial.etag!;

  const acks: Ack[] = [];
  let conflicts = 0;

  const allRead = barrier(WRITERS);
  const allWritten = barrier(WRITERS);
  const winnersPerRound = Array.from({ length: ROUNDS }, () => 0);

  async function writer(id: number): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const read = await send(url, 'GET');
      expect(read.status).toBe(200);
      const base = read.etag!;
      const current = JSON.parse(read.body) as Counter;
      const value: Counter = { count: current.count + 1, by: `${id}:${round}` };
      await allRead();
      const write = await send(url, 'PUT', JSON.stringify(value), { 'If-Match': base });
      if (write.status === 412) {
        conflicts++;
      } else {
        expect(write.status).toBe(204);
        acks.push({ base, etag: write.etag!, value });
        winnersPerRound[round]!++;
      }
      await allWritten();
    }
  }

  const started = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, (_, id) => writer(id)));
  const seconds = (performance.now() - started) / 1000;
  console.warn(
    `CAS race: ${acks.length} commits, ${conflicts} conflicts (412) in ${seconds.toFixed(1)} s ` +
      `(${((acks.length + conflicts) / seconds).toFixed(0)} CAS attempts/s)`,
  );

  // Every round: exactly one winner among 16 writers holding the same version; 15 refused.
  expect(winnersPerRound).toEqual(Array.from({ length: ROUNDS }, () => 1));
  expect(conflicts).toBe((WRITERS - 1) * ROUNDS);
  const total = ROUNDS;
  expect(acks).toHaveLength(total);
  // No ETag acknowledged twice, none reused from the initial object.
  expect(new Set(acks.map((ack) => ack.etag)).size).toBe(total);
  expect(acks.some((ack) => ack.etag === initialETag)).toBe(false);
  // No double commit: each count acknowledged exactly once, 1..total.
  const byCount = [...acks].sort((a, b) => a.value.count - b.value.count);
  expect(byCount.map((ack) => ack.value.count)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  // Each commit replaced exactly the version acknowledged just before it: one linear chain.
  expect(byCount[0]!.base).toBe(initialETag);
  for (let i = 1; i < total; i++) expect(byCount[i]!.base).toBe(byCount[i - 1]!.etag);
  // Every acknowledged round is in the chain once: nothing lost.
  expect(new Set(acks.map((ack) => ack.value.by)).size).toBe(total);
  // The stored object is the last acknowledged write.
  const final = await send(url, 'GET');
  expect(final.etag).toBe(byCount[total - 1]!.etag);
  expect(JSON.parse(final.body)).toEqual(byCount[total - 1]!.value);
}, 120_000);
