import type { CasKv, KvEntry, KvItem, KvWatcher, VersionToken } from '../contracts/cas-kv.js';
import type { Unsubscribe } from '../contracts/common.js';
import { AlreadyExistsError, RevisionMismatchError } from '../contracts/errors.js';
import { copyBytes } from '../core/bytes.js';
import { KvWatchHub, changeOfWrite } from '../core/kv-watch.js';
import { uniqueTokens } from '../core/unique.js';
import { assertBytes, assertKey, assertPrefix, assertToken } from '../core/validate.js';

/** The reference {@link CasKv}: a Map, with the contract's exact semantics and nothing else. */
export class MemoryCasKv implements CasKv {
  readonly #entries = new Map<string, KvEntry>();
  readonly #hub = new KvWatchHub();
  readonly #nextVersion = uniqueTokens();

  async get(key: string): Promise<KvEntry | null> {
    assertKey(key);
    const entry = this.#entries.get(key);
    return entry && entry.value.length > 0 ? copyEntry(entry) : null;
  }

  async entry(key: string): Promise<KvEntry | null> {
    assertKey(key);
    const entry = this.#entries.get(key);
    return entry ? copyEntry(entry) : null;
  }

  async keys(prefix = ''): Promise<string[]> {
    return (await this.scan(prefix)).map((item) => item.key);
  }

  async scan(prefix = ''): Promise<KvItem[]> {
    assertPrefix(prefix);
    const items: KvItem[] = [];
    for (const [key, entry] of this.#entries) {
      if (key.startsWith(prefix) && entry.value.length > 0) items.push({ key, ...copyEntry(entry) });
    }
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async watch(prefix: string, watcher: KvWatcher): Promise<Unsubscribe> {
    return this.#hub.watch(prefix, watcher, (p) => this.scan(p));
  }

  async put(key: string, value: Uint8Array): Promise<VersionToken> {
    assertKey(key);
    assertBytes(value, 'value');
    return this.#write(key, value);
  }

  async create(key: string, value: Uint8Array): Promise<VersionToken> {
    assertKey(key);
    assertBytes(value, 'value');
    const current = this.#entries.get(key);
    if (current && current.value.length > 0) {
      throw new AlreadyExistsError(
        `Key ${JSON.stringify(key)} already has a value; use update() to change it.`,
      );
    }
    return this.#write(key, value);
  }

  async update(key: string, value: Uint8Array, expected: VersionToken): Promise<VersionToken> {
    assertKey(key);
    assertBytes(value, 'value');
    assertToken(expected, 'expected');
    this.#expect(key, expected);
    return this.#write(key, value);
  }

  async delete(key: string): Promise<boolean> {
    assertKey(key);
    const current = this.#entries.get(key);
    if (!current) return false;
    this.#entries.delete(key);
    this.#hub.emit({ type: 'delete', key, version: null });
    return current.value.length > 0;
  }

  async deleteWithVersion(key: string, expected: VersionToken): Promise<boolean> {
    assertKey(key);
    assertToken(expected, 'expected');
    const wasLive = this.#expect(key, expected).value.length > 0;
    this.#write(key, new Uint8Array(0)); // the logical delete: what update(key, empty, expected) writes
    return wasLive;
  }

  #expect(key: string, expected: VersionToken): KvEntry {
    const current = this.#entries.get(key);
    if (!current || current.version !== expected) {
      throw new RevisionMismatchError(
        `Key ${JSON.stringify(key)} is ${current ? 'at another version' : 'absent'}; read it again and retry.`,
      );
    }
    return current;
  }

  /** Every write, an empty value (the logical delete) included: one new version, one change. */
  #write(key: string, value: Uint8Array): VersionToken {
    const version = this.#nextVersion();
    const stored = copyBytes(value);
    this.#entries.set(key, { value: stored, version });
    this.#hub.emit(changeOfWrite(key, copyBytes(stored), version));
    return version;
  }
}

function copyEntry(entry: KvEntry): KvEntry {
  return { value: copyBytes(entry.value), version: entry.version };
}
