import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedCouch, type EmbeddedCouch } from '../../hub/couch/embedded.js';
import { couchAccessOf } from '../../hub/couch/index.js';
import { TEST_COUCH_URL, waitFor } from '../helpers.js';

// The embedded server drops a revision's body once a newer one replaces it, as Apache CouchDB's
// compaction does: what it keeps on disk (and maps into the hub's memory) follows the documents,
// not every write ever made to them. On the CouchDB pass the same history is checked against
// Apache CouchDB itself, compacted by its `_compact`, so that both answer a replicator alike.
type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

const caller =
  (url: () => string, auth: string): Call =>
  async (method, path, body) => {
    const res = await fetch(`${url()}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

let dir: string;
let couch: EmbeddedCouch;
const embedded = caller(() => couch.url, `Basic ${Buffer.from('admin:pw').toString('base64')}`);
const apache = TEST_COUCH_URL ? caller(() => couchAccessOf(TEST_COUCH_URL!).url, couchAccessOf(TEST_COUCH_URL).auth) : null;
const db = `t${process.pid}_compaction_node_s01`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dom-embedded-compaction-'));
  couch = await startEmbeddedCouch({ dataDir: dir, user: 'admin', password: 'pw' });
});
afterAll(async () => {
  await couch?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (apache) await apache('DELETE', `/${db}`);
});

/** Three revisions of one document; the replaced two compacted away (`compact` waits for that where it is not done in the write). */
async function threeRevisions(call: Call, compact?: (revs: string[]) => Promise<void>): Promise<string[]> {
  expect((await call('PUT', `/${db}`)).status).toBe(201);
  const revs: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const r = await call('PUT', `/${db}/inv:SKU1`, { type: 'inv', onHand: n, ...(revs.length ? { _rev: revs.at(-1) } : {}) });
    expect(r.status).toBe(201);
    revs.push(r.body.rev as string);
  }
  await compact?.(revs);
  return revs;
}

async function expectHistoryKept(call: Call, revs: string[]) {
  const current = await call('GET', `/${db}/inv:SKU1?revs=true`);
  expect(current.body).toMatchObject({ onHand: 3, _revisions: { start: 3 } });
  expect((current.body._revisions as { ids: string[] }).ids).toHaveLength(3);
  // the replaced revisions are known (the history a replicator compares) but their bodies are gone
  for (const rev of revs.slice(0, 2)) expect((await call('GET', `/${db}/inv:SKU1?rev=${rev}`)).status).toBe(404);
  // every revision of the history is known, compacted or not; a newer one is missing, with the leaf below it as a possible ancestor
  const diff = await call('POST', `/${db}/_revs_diff`, { 'inv:SKU1': [...revs, '4-abc'], 'inv:NEW': ['1-def'] });
  expect(diff.body).toEqual({ 'inv:SKU1': { missing: ['4-abc'], possible_ancestors: [revs[2]] }, 'inv:NEW': { missing: ['1-def'] } });
}

describe('the embedded server compacts as it writes', () => {
  it('keeps the current revision and its history, not the replaced bodies', async () => {
    await expectHistoryKept(embedded, await threeRevisions(embedded));
  });

  it.skipIf(!apache)('answers as Apache CouchDB does once CouchDB has compacted the same history', async () => {
    const revs = await threeRevisions(apache!, async ([first]) => {
      expect((await apache!('POST', `/${db}/_compact`, {})).status).toBe(202);
      await waitFor("CouchDB's compaction of the replaced revisions", async () => (await apache!('GET', `/${db}/inv:SKU1?rev=${first}`)).status === 404);
    });
    await expectHistoryKept(apache!, revs);
  });

  it("answers a _revs_diff it cannot read with CouchDB's errors, and creates no database for it", async () => {
    expect((await embedded('POST', '/node_nope/_revs_diff', { a: ['1-a'] })).status).toBe(404);
    expect((await embedded('GET', '/node_nope')).status).toBe(404);
    for (const body of [{ a: '1-a' }, { a: [1] }])
      expect(await embedded('POST', `/${db}/_revs_diff`, body)).toMatchObject({ status: 400, body: { error: 'bad_request' } });
  });
});
