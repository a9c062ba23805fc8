/**
 * The part of PouchDB 9's API that DOM uses. (@types/pouchdb targets PouchDB 6 and its ambient
 * declarations clash with current Node typings.)
 */
declare module 'pouchdb' {
  import type { EventEmitter } from 'node:events';

  namespace PouchDB {
    interface Doc {
      _id: string;
      _rev?: string;
      _deleted?: boolean;
      _conflicts?: string[];
      [key: string]: unknown;
    }
    interface Response {
      ok: boolean;
      id: string;
      rev: string;
    }
    interface BulkError {
      error: string | boolean;
      status?: number;
      name?: string;
      id?: string;
      reason?: string;
      message?: string;
    }
    interface Info {
      db_name: string;
      doc_count: number;
      update_seq: number | string;
      adapter?: string;
    }
    interface AllDocsOptions {
      include_docs?: boolean;
      conflicts?: boolean;
      startkey?: string;
      endkey?: string;
      keys?: string[];
      limit?: number;
      skip?: number;
      descending?: boolean;
    }
    interface AllDocsResponse<T> {
      total_rows: number;
      offset: number;
      rows: { id: string; key: string; value: { rev: string; deleted?: boolean }; doc?: T & Doc; error?: string }[];
    }
    interface ChangesOptions {
      since?: number | string;
      live?: boolean;
      include_docs?: boolean;
      limit?: number;
      conflicts?: boolean;
      return_docs?: boolean;
    }
    interface Change<T> {
      id: string;
      seq: number | string;
      changes: { rev: string }[];
      deleted?: boolean;
      doc?: T & Doc;
    }
    interface ChangesResponse<T> {
      results: Change<T>[];
      last_seq: number | string;
    }
    interface Changes<T> extends EventEmitter, PromiseLike<ChangesResponse<T>> {
      cancel(): void;
    }
    interface ReplicateOptions {
      live?: boolean;
      retry?: boolean;
      batch_size?: number;
      batches_limit?: number;
      heartbeat?: number | false;
      timeout?: number | false;
      checkpoint?: 'source' | 'target' | false;
      back_off_function?: (delay: number) => number;
      filter?: string | ((doc: Doc) => boolean);
      since?: number | string;
    }
    interface ReplicationInfo {
      direction?: 'push' | 'pull';
      change?: { docs_written: number; docs_read: number; last_seq: number | string; pending?: number };
      docs_written?: number;
      docs_read?: number;
      last_seq?: number | string;
      pending?: number;
      ok?: boolean;
    }
    interface Replication extends EventEmitter, PromiseLike<unknown> {
      cancel(): void;
      push?: Replication;
      pull?: Replication;
    }
    interface DatabaseOptions {
      prefix?: string;
      adapter?: string;
      skip_setup?: boolean;
      fetch?: (url: string | URL, opts: RequestInit & { headers: Headers }) => Promise<Response>;
      auto_compaction?: boolean;
      revs_limit?: number;
      /** the LevelDB adapter's leveldown (shared/leveldb.ts: one that syncs every write) */
      db?: (location: string) => unknown;
    }
    interface Database<T extends object = Record<string, unknown>> extends EventEmitter {
      name: string;
      info(): Promise<Info>;
      get<D extends object = T>(id: string, opts?: { conflicts?: boolean; rev?: string }): Promise<D & Doc>;
      put<D extends object = T>(doc: D & { _id: string; _rev?: string }): Promise<Response>;
      bulkDocs<D extends object = T>(docs: (D & { _id?: string; _rev?: string })[], opts?: { new_edits?: boolean }): Promise<(Response | BulkError)[]>;
      allDocs<D extends object = T>(opts?: AllDocsOptions): Promise<AllDocsResponse<D>>;
      changes<D extends object = T>(opts?: ChangesOptions): Changes<D>;
      sync(remote: string | Database, opts?: ReplicateOptions): Replication;
      replicate: {
        to(remote: string | Database, opts?: ReplicateOptions): Replication;
        from(remote: string | Database, opts?: ReplicateOptions): Replication;
      };
      close(): Promise<void>;
      destroy(): Promise<void>;
      compact(): Promise<unknown>;
    }
    interface Static extends EventEmitter {
      new <T extends object = Record<string, unknown>>(name: string, opts?: DatabaseOptions): Database<T>;
      defaults(opts: DatabaseOptions): Static;
      fetch(url: string | URL, opts?: RequestInit): Promise<Response>;
      plugin(p: unknown): Static;
      replicate(source: string | Database, target: string | Database, opts?: ReplicateOptions): Replication;
    }
  }
  const PouchDB: PouchDB.Static;
  export default PouchDB;
}
