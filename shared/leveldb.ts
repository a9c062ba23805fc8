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
 *
 * Memory: LevelDB's defaults (a 4 MiB write buffer, an 8 MiB block cache and up to 1,000 open
 * files per database) suit one big database. The hub's embedded server holds one database per
 * facility (hundreds), so each would grow to 12 MiB and more inside the hub's process (the 30-minute
 * soak measured +31 % hub RSS with them). `levelDbOptions(role)` gives each role its sizes: the
 * hub's own databases (`dom`, written by every order), a facility's database at the hub (a store's
 * DOs, events and positions: a few MB, written a few times a minute), a node's database. A
 * database's write buffer fills with what is written to it and is let go only when it is full (a
 * sorted table written out), and its cache fills with what is read: a quiet facility database takes
 * hours to reach its sizes, so the hub's resident memory grows all that time towards hundreds of
 * databases times both (docs/RELIABILITY.md, "The soak"). Durability does not depend on them:
 * every write is still synced.
 */
import { createRequire } from 'node:module';
import { basename } from 'node:path';

const require = createRequire(import.meta.url);

type Callback = (err?: unknown, res?: unknown) => void;
type Options = Record<string, unknown> | undefined;
interface LevelDown {
  _open(options: Options, cb: Callback): void;
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

/** How much memory and how many descriptors one LevelDB database may hold. */
export interface LevelDbTuning {
  /** bytes of writes buffered in memory before they are written out as a sorted table */
  writeBufferSize: number;
  /** bytes of the uncompressed-block cache */
  cacheSize: number;
  /** table files kept open (LevelDB keeps at least 64) */
  maxOpenFiles: number;
}

const MiB = 1 << 20;
export type LevelDbRole = 'hub' | 'facility' | 'node';

/**
 * Per role: the hub's own databases at the embedded server (`dom`, the busiest), each facility's
 * database there (hundreds of them, small and mostly quiet), a node's one database of its own.
 */
export const LEVELDB_DEFAULTS: Record<LevelDbRole, LevelDbTuning> = {
  hub: { writeBufferSize: 1 * MiB, cacheSize: 1 * MiB, maxOpenFiles: 100 },
  facility: { writeBufferSize: 256 * 1024, cacheSize: 256 * 1024, maxOpenFiles: 100 },
  node: { writeBufferSize: 2 * MiB, cacheSize: 2 * MiB, maxOpenFiles: 200 },
};

/** "512k", "4m", "1048576": bytes. Anything else is refused by name. */
export function parseByteSize(name: string, text: string): number {
  const m = /^\s*(\d+)\s*([kmg]?)i?b?\s*$/i.exec(text);
  if (!m) throw new Error(`${name}: expected a size in bytes such as 1048576, 512k or 4m, got "${text}"`);
  const n = Number(m[1]) * ({ '': 1, k: 1024, m: MiB, g: 1024 * MiB } as Record<string, number>)[m[2]!.toLowerCase()]!;
  if (n < 64 * 1024 || n > 1024 * MiB) throw new Error(`${name}: ${text} is outside 64k..1g`);
  return n;
}

/**
 * The role's sizes, each overridable by the environment: DOM_LEVELDB_WRITE_BUFFER and
 * DOM_LEVELDB_CACHE (bytes, or 512k / 4m), DOM_LEVELDB_MAX_OPEN_FILES (a count, 64 or more).
 */
export function levelDbOptions(role: LevelDbRole, env: NodeJS.ProcessEnv = process.env): LevelDbTuning {
  const d = LEVELDB_DEFAULTS[role];
  const files = env.DOM_LEVELDB_MAX_OPEN_FILES;
  if (files !== undefined && !/^\s*\d+\s*$/.test(files)) throw new Error(`DOM_LEVELDB_MAX_OPEN_FILES: expected a count, got "${files}"`);
  return {
    writeBufferSize: env.DOM_LEVELDB_WRITE_BUFFER ? parseByteSize('DOM_LEVELDB_WRITE_BUFFER', env.DOM_LEVELDB_WRITE_BUFFER) : d.writeBufferSize,
    cacheSize: env.DOM_LEVELDB_CACHE ? parseByteSize('DOM_LEVELDB_CACHE', env.DOM_LEVELDB_CACHE) : d.cacheSize,
    maxOpenFiles: files !== undefined ? Math.max(64, Number(files)) : d.maxOpenFiles,
  };
}

/** A leveldown whose every write is synced. Its name keys PouchDB's store cache: keep it. */
export function durableLeveldown(location: string): LevelDown {
  return sizedAndSynced(location, 'node');
}

/**
 * The embedded server's leveldown: every write synced, each database sized by its role, a
 * facility's (`node_<id>`, after any `DOM_DB_PREFIX`) or the hub's own (`dom` and the rest).
 */
export function hubLeveldown(location: string): LevelDown {
  return sizedAndSynced(location, hubDbRole(basename(location)));
}

/** The role of a database at the hub's embedded server, by its name. */
export function hubDbRole(name: string): Extract<LevelDbRole, 'hub' | 'facility'> {
  return /(^|_)node_[^/]+$/.test(name) ? 'facility' : 'hub';
}

function sizedAndSynced(location: string, role: LevelDbRole): LevelDown {
  const db = leveldown(location);
  const { _open: open, _put: put, _del: del, _batch: batch, _chainedBatch: chained } = db;
  // sizes the caller did not give are the role's (levelDbOptions)
  db._open = function (this: LevelDown, options, cb) {
    open.call(this, { ...levelDbOptions(role), ...(options ?? {}) }, cb);
  };
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
