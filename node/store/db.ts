import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import PouchDB from 'pouchdb';

/** The facility's local database: PouchDB on LevelDB in the node's data folder. */
export function openLocalDb(dataDir: string): PouchDB.Database {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  return new PouchDB(join(dir, 'db'), { auto_compaction: false });
}
