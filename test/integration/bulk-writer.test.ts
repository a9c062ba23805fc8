/**
 * The group commit (hub/couch/bulk.ts) gathers several callers' writes into one `_bulk_docs`. Two
 * updates of one document must not share a request: PouchDB (the embedded server) then stores both
 * as conflicting revisions, though it answers the second with a 409 (the quick chaos run found a
 * DO state with conflicts this way).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { DocumentScope } from 'nano';
import { BulkWriter } from '../../hub/couch/bulk.js';
import type { Couch } from '../../hub/couch/index.js';
import { cleanupDirs, openTestCouch, tempDir } from '../helpers.js';

describe('the group commit', () => {
  let couch: Couch | undefined;
  afterAll(async () => {
    await couch?.stop();
    await cleanupDirs();
  });

  it('writes two updates of one document in the same turn as CouchDB would: one wins, the other is a conflict, no conflicting revision is stored', async () => {
    couch = await openTestCouch(tempDir('bulk-writer'));
    await couch.ensureDb('bulkw');
    const db = couch.db<{ n: number }>('bulkw');
    const { rev } = await db.insert({ _id: 'dostate:D1', n: 0 } as never);
    const writer = new BulkWriter(db as DocumentScope<object>);
    const [a, b, other] = await Promise.all([
      writer.write([{ _id: 'dostate:D1', _rev: rev, n: 1 }]),
      writer.write([{ _id: 'dostate:D1', _rev: rev, n: 2 }]),
      writer.write([{ _id: 'dostate:D2', n: 0 }]),
    ]);
    expect(a[0]!.rev).toMatch(/^2-/);
    expect(b[0]!.error).toBe('conflict');
    expect(other[0]!.rev).toMatch(/^1-/);
    const stored = (await db.get('dostate:D1', { conflicts: true })) as { n: number; _conflicts?: string[] };
    expect(stored.n).toBe(1);
    expect(stored._conflicts ?? []).toEqual([]);
  });
});
