import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedCouch, type EmbeddedCouch } from '../../hub/couch/embedded.js';

// The embedded server drops a revision's body once a newer one replaces it, as Apache CouchDB's
// compaction does: what it keeps on disk (and maps into the hub's memory) follows the documents,
// not every write ever made to them.
describe('the embedded server compacts as it writes', () => {
  let dir: string;
  let couch: EmbeddedCouch;
  const auth = `Basic ${Buffer.from('admin:pw').toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${couch.url}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dom-embedded-compaction-'));
    couch = await startEmbeddedCouch({ dataDir: dir, user: 'admin', password: 'pw' });
  });
  afterAll(async () => {
    await couch?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the current revision and its history, not the replaced bodies', async () => {
    expect((await call('PUT', '/node_s01')).status).toBe(201);
    const revs: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const r = await call('PUT', '/node_s01/inv:SKU1', { type: 'inv', onHand: n, ...(revs.length ? { _rev: revs.at(-1) } : {}) });
      expect(r.status).toBe(201);
      revs.push(r.body.rev as string);
    }
    const current = await call('GET', '/node_s01/inv:SKU1?revs=true');
    expect(current.body).toMatchObject({ onHand: 3, _revisions: { start: 3 } });
    expect((current.body._revisions as { ids: string[] }).ids).toHaveLength(3);
    // the replaced revisions are known (the history a replicator compares) but their bodies are gone
    for (const rev of revs.slice(0, 2)) {
      const old = await call('GET', `/node_s01/inv:SKU1?rev=${rev}`);
      expect(old.status).toBe(404);
    }
    // as Apache CouchDB answers: every revision of the history is known, compacted or not
    const diff = await call('POST', '/node_s01/_revs_diff', { 'inv:SKU1': [...revs, '4-abc'], 'inv:NEW': ['1-def'] });
    expect(diff.body).toEqual({ 'inv:SKU1': { missing: ['4-abc'] }, 'inv:NEW': { missing: ['1-def'] } });
  });

  it("answers a _revs_diff it cannot read with CouchDB's errors, and creates no database for it", async () => {
    expect((await call('POST', '/node_nope/_revs_diff', { a: ['1-a'] })).status).toBe(404);
    expect((await call('GET', '/node_nope')).status).toBe(404);
    const bad = await call('POST', '/node_s01/_revs_diff', { a: '1-a' });
    expect(bad).toMatchObject({ status: 400, body: { error: 'bad_request' } });
  });
});
