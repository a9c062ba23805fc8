import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PouchDB from 'pouchdb';
import { afterEach, describe, expect, it } from 'vitest';
import { durableLeveldown, hubDbRole, hubLeveldown, levelDbOptions, LEVELDB_DEFAULTS, parseByteSize } from '../../shared/leveldb.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Writes `batches` × 100 documents of 5 KB (2.5 MB by default) and closes; returns the sorted-table files LevelDB wrote. */
async function tablesAfterWrites(opts: Record<string, unknown>, name = 'db', db_: unknown = durableLeveldown, batches = 5): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dom-leveldb-'));
  dirs.push(dir);
  const db = new PouchDB(join(dir, name), { db: db_, ...opts } as PouchDB.DatabaseOptions);
  const pad = 'x'.repeat(5000);
  for (let b = 0; b < batches; b++) {
    await db.bulkDocs(Array.from({ length: 100 }, (_, i) => ({ _id: `d${b}-${i}`, pad })));
  }
  const files = readdirSync(join(dir, name)).filter((f) => f.endsWith('.ldb'));
  await db.close();
  return files;
}

describe('LevelDB sizes', () => {
  it('reach LevelDB: a 1 MiB write buffer is written out to a table where a 4 MiB one is not', async () => {
    expect(await tablesAfterWrites({ ...levelDbOptions('hub', {}) })).not.toEqual([]);
    expect(await tablesAfterWrites({ writeBufferSize: 4 << 20 })).toEqual([]);
  });

  it('a database opened without sizes gets the node role', async () => {
    // the node's 2 MiB buffer fills with 2.5 MB
    expect(await tablesAfterWrites({})).not.toEqual([]);
  });

  it("the embedded server sizes a facility's database smaller than its own", async () => {
    expect(hubDbRole('node_s01')).toBe('facility');
    expect(hubDbRole('bench_lat_node_dc1')).toBe('facility');
    expect(hubDbRole('dom')).toBe('hub');
    expect(hubDbRole('bench_lat_dom')).toBe('hub');
    // two writes of 0.5 MB: the second finds a facility's 256 KiB buffer full, the hub's own 1 MiB not
    expect(await tablesAfterWrites({}, 'node_s01', hubLeveldown, 2)).not.toEqual([]);
    expect(await tablesAfterWrites({}, 'dom', hubLeveldown, 2)).toEqual([]);
  });

  it('the environment overrides each size; bad values are refused by name', () => {
    expect(levelDbOptions('hub', {})).toEqual(LEVELDB_DEFAULTS.hub);
    expect(levelDbOptions('node', { DOM_LEVELDB_WRITE_BUFFER: '512k', DOM_LEVELDB_CACHE: '4m', DOM_LEVELDB_MAX_OPEN_FILES: '10' })).toEqual({
      writeBufferSize: 512 * 1024,
      cacheSize: 4 << 20,
      maxOpenFiles: 64,
    });
    expect(parseByteSize('X', '1048576')).toBe(1 << 20);
    expect(() => levelDbOptions('hub', { DOM_LEVELDB_CACHE: 'lots' })).toThrow(/DOM_LEVELDB_CACHE.*"lots"/);
    expect(() => levelDbOptions('hub', { DOM_LEVELDB_WRITE_BUFFER: '1k' })).toThrow(/outside/);
    expect(() => levelDbOptions('hub', { DOM_LEVELDB_MAX_OPEN_FILES: 'many' })).toThrow(/DOM_LEVELDB_MAX_OPEN_FILES/);
  });
});
