/**
 * LevelDB that syncs before it acknowledges. PouchDB's LevelDB adapter never asks LevelDB for
 * `sync`, so a write it has answered sits in the operating system's page cache: a power cut loses
 * it (with LazyFS, every one of 1,000 acknowledged `put`s; docs/RELIABILITY.md). This is the same
 * leveldown PouchDB loads, with `sync: true` on every write (put, del, batch, chained batch), handed
 * to PouchDB as its `db` option:
 *
 *   new PouchDB(path, { db: durableLeveldown })
 *
 * The fsyncs group themselves: leveldown runs each write on libuv's thread pool, and LevelDB folds
 * the writers queued behind one sync into a single log write and a single fsync.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Callback = (err?: unknown, res?: unknown) => void;
type Options = Record<string, unknown> | undefined;
interface LevelDown {
  _put(key: unknown, value: unknown, options: Options, cb: Callback): void;
  _del(key: unknown, options: Options, cb: Callback): void;
  _batch(ops: unknown[], options: Options, cb: Callback): void;
  _chainedBatch(): { _write(options: Options, cb: Callback): void };
}
interface LevelDownFactory {
  (location: string): LevelDown;
  destroy(location: string, cb: Callback): void;
}

const leveldown = require('leveldown') as LevelDownFactory;
const synced = (o: Options) => ({ ...(o ?? {}), sync: true });

/** A leveldown whose every write is synced. Its name keys PouchDB's store cache: keep it. */
export function durableLeveldown(location: string): LevelDown {
  const db = leveldown(location);
  const { _put: put, _del: del, _batch: batch, _chainedBatch: chained } = db;
  db._put = function (this: LevelDown, key, value, options, cb) {
    put.call(this, key, value, synced(options), cb);
  };
  db._del = function (this: LevelDown, key, options, cb) {
    del.call(this, key, synced(options), cb);
  };
  db._batch = function (this: LevelDown, ops, options, cb) {
    batch.call(this, ops, synced(options), cb);
  };
  db._chainedBatch = function (this: LevelDown) {
    const b = chained.call(this);
    const write = b._write;
    b._write = function (this: typeof b, options, cb) {
      write.call(this, synced(options), cb);
    };
    return b;
  };
  return db;
}
// PouchDB's destroy() asks the leveldown for it
durableLeveldown.destroy = (location: string, cb: Callback) => leveldown.destroy(location, cb);
