/**
 * The little of `pouchdb-browser` the live-sync benchmark uses (the package ships no types; the
 * benchmark is its only user, so this beats depending on the `@types/pouchdb-*` family).
 */
declare module 'pouchdb-browser' {
  interface Cancelable {
    cancel(): void;
    on(event: string, listener: (value: never) => void): this;
  }
  interface Database {
    put(doc: { _id: string; [field: string]: unknown }): Promise<{ ok: boolean; id: string; rev: string }>;
    changes(options: { since: 'now' | number; live: boolean }): Cancelable;
    replicate: {
      to(target: Database, options: { live: boolean; retry: boolean }): Cancelable;
      from(source: Database, options: { live: boolean; retry: boolean }): Cancelable;
    };
    close(): Promise<void>;
  }
  const PouchDB: new (name: string, options?: { skip_setup?: boolean }) => Database;
  export default PouchDB;
}
