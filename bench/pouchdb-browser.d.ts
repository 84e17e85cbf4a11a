/**
 * The little of `pouchdb-browser` the benchmarks use (the package ships no types; the benchmarks
 * are its only user, so this beats depending on the `@types/pouchdb-*` family).
 */
declare module 'pouchdb-browser' {
  interface Cancelable {
    cancel(): void;
    on(event: string, listener: (value: never) => void): this;
  }
  export interface Doc {
    _id: string;
    [field: string]: unknown;
  }
  /** What a one-shot replication resolves with. */
  interface ReplicationResult {
    ok: boolean;
    docs_read: number;
    docs_written: number;
    doc_write_failures: number;
  }
  /** A replication is an event emitter and, one-shot, a promise of its result. */
  interface Replication extends Cancelable, PromiseLike<ReplicationResult> {}
  export interface ReplicationOptions {
    live?: boolean;
    retry?: boolean;
    /** Documents per batch (PouchDB's default: 100). */
    batch_size?: number;
    /** Batches read ahead while one is written (default 10). */
    batches_limit?: number;
  }
  interface Database {
    put(doc: Doc): Promise<{ ok: boolean; id: string; rev: string }>;
    /** Per document: `{ ok, id, rev }`, or `{ error, id, message }` for one that was refused. */
    bulkDocs(docs: Doc[]): Promise<{ ok?: boolean; error?: unknown; id: string }[]>;
    info(): Promise<{ doc_count: number }>;
    changes(options: { since: 'now' | number; live: boolean }): Cancelable;
    replicate: {
      to(target: Database, options?: ReplicationOptions): Replication;
      from(source: Database, options?: ReplicationOptions): Replication;
    };
    close(): Promise<void>;
    destroy(): Promise<unknown>;
  }
  const PouchDB: new (name: string, options?: { skip_setup?: boolean }) => Database;
  export default PouchDB;
}
