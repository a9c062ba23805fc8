import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import PouchDB from 'pouchdb';
import { DomError } from '../../shared/errors.js';
import { durableLeveldown, levelDbOptions } from '../../shared/leveldb.js';

/**
 * The facility's local database: PouchDB on LevelDB in the node's data folder, every write synced
 * to disk before it is acknowledged (shared/leveldb.ts): a sale, a pick or a receipt the node has
 * answered survives a power cut.
 *
 * A write that the disk refuses (full, or failing) leaves LevelDB's log with a torn record: every
 * write acknowledged after it is lost when the database is next opened (LevelDB drops the log
 * from the damage on). So after the first such failure every further write is refused (503
 * `storage_failed`) and `onStorageFailure` is told, once, to close and reopen the database, which
 * recovers everything written before the failure.
 */
export function openLocalDb(dataDir: string, onStorageFailure?: (err: Error) => void): PouchDB.Database {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const db = new PouchDB(join(dir, 'db'), { auto_compaction: false, db: durableLeveldown, ...levelDbOptions('node') });
  // the store, the sync (two replications and a pending counter) and tools each follow the feed
  db.setMaxListeners(50);
  guardWrites(db, onStorageFailure);
  return db;
}

export const isStorageError = (err: unknown): boolean =>
  /IO error|ENOSPC|No space left|EIO|EROFS|Read-only file system/i.test(String((err as Error | undefined)?.message ?? ''));

export const storageUnavailable = () =>
  new DomError(503, 'storage_failed', "the node's disk refused a write (full?); the local database is being reopened: retry shortly");
const refusal = storageUnavailable;

type Callback = (err: unknown, res?: unknown) => void;

/** Every LevelDB write of a PouchDB instance goes through these adapter methods. */
function guardWrites(db: PouchDB.Database, onFailure?: (err: Error) => void): void {
  let failed = false;
  const api = db as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['_bulkDocs', '_putLocal', '_removeLocal']) {
    const orig = api[name];
    if (typeof orig !== 'function') continue;
    api[name] = function (this: unknown, ...args: unknown[]) {
      const cb = args[args.length - 1] as Callback;
      if (typeof cb !== 'function') return orig.apply(this, args);
      if (failed) return cb(refusal());
      args[args.length - 1] = (err: unknown, res?: unknown) => {
        if (err && isStorageError(err)) {
          if (!failed) {
            failed = true;
            onFailure?.(err as Error);
          }
          return cb(refusal());
        }
        cb(err, res);
      };
      return orig.apply(this, args);
    };
  }
}
