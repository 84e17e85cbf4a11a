/**
 * The baseline worker: does nothing but the one library call asked for, answering over a raw
 * postMessage (no comlink). Raw `idb` is the baseline; idb-keyval and Dexie are peers.
 */
import Dexie from 'dexie';
import { openDB, type IDBPDatabase } from 'idb';
import { createStore, set, setMany, type UseStore } from 'idb-keyval';
import { uniqueTokens } from '../src/core/unique.js';

/**
 * `none` answers at once: the cost of the round trip alone. `idb (versioned record)` is raw idb
 * storing what chainsync's CasKv stores for a compare-and-swap, the bytes with a version token
 * (`{ value, version }`), instead of the bare bytes: the cost of the record's shape alone.
 */
export type PeerLib = 'idb' | 'idb (versioned record)' | 'idb-keyval' | 'dexie' | 'none';

export interface PeerRequest {
  readonly id: number;
  readonly lib: PeerLib;
  /** One entry: a single write; many: one batch in one transaction. */
  readonly entries: readonly (readonly [string, Uint8Array])[];
}

let raw: Promise<IDBPDatabase> | null = null;
/** Tokens shaped like chainsync's (src/core/unique.ts): a random prefix and a counter. */
const nextVersion = uniqueTokens();
let keyval: UseStore | null = null;
let dexie: Dexie | null = null;

function rawDb(): Promise<IDBPDatabase> {
  raw ??= openDB('bench-raw-idb', 1, { upgrade: (db) => void db.createObjectStore('kv') });
  return raw;
}

function dexieTable() {
  if (!dexie) {
    dexie = new Dexie('bench-dexie');
    dexie.version(1).stores({ kv: '' });
  }
  return dexie.table<Uint8Array, string>('kv');
}

async function write(request: PeerRequest): Promise<void> {
  const { lib, entries } = request;
  switch (lib) {
    case 'none':
      return;
    case 'idb': {
      // Same durability as chainsync's writes, so the comparison is of the code, not the flush.
      const tx = (await rawDb()).transaction('kv', 'readwrite', { durability: 'relaxed' });
      for (const [key, value] of entries) void tx.store.put(value, key);
      await tx.done;
      return;
    }
    case 'idb (versioned record)': {
      const tx = (await rawDb()).transaction('kv', 'readwrite', { durability: 'relaxed' });
      for (const [key, value] of entries) void tx.store.put({ value, version: nextVersion() }, key);
      await tx.done;
      return;
    }
    case 'idb-keyval': {
      keyval ??= createStore('bench-idb-keyval', 'kv');
      const first = entries[0];
      if (entries.length === 1 && first) await set(first[0], first[1], keyval);
      else await setMany(entries as [string, Uint8Array][], keyval);
      return;
    }
    case 'dexie': {
      const table = dexieTable();
      const first = entries[0];
      if (entries.length === 1 && first) await table.put(first[1], first[0]);
      else
        await table.bulkPut(
          entries.map(([, v]) => v),
          entries.map(([k]) => k),
        );
      return;
    }
  }
}

self.onmessage = async (event: MessageEvent<PeerRequest>) => {
  try {
    await write(event.data);
    self.postMessage({ id: event.data.id });
  } catch (error) {
    self.postMessage({ id: event.data.id, error: String(error) });
  }
};
