import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import PouchDB from 'pouchdb';

/** The facility's local database: PouchDB on LevelDB in the node's data folder. */
export function openLocalDb(dataDir: string): PouchDB.Database {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const db = new PouchDB(join(dir, 'db'), { auto_compaction: false });
  // the store, the sync (two replications and a pending counter) and tools each follow the feed
  db.setMaxListeners(50);
  return db;
}
