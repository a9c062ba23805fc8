import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub } from '../helpers.js';
import type { Hub } from '../../hub/index.js';

describe('gateway: a node reaches only its own database and its own document types', () => {
  let hub: Hub;
  let tokenA: string;
  let tokenB: string;
  const evt = (n: number, extra: object = {}) => ({
    _id: `evt:X.1.A:${String(n).padStart(4, '0')}`,
    type: 'evt',
    doId: 'X.1.A',
    n,
    status: 'ack',
    facility: 'A',
    at: new Date().toISOString(),
    ...extra,
  });

  beforeAll(async () => {
    hub = await testHub();
    tokenA = await registerFacility(hub.url, { id: 'A' });
    tokenB = await registerFacility(hub.url, { id: 'B' });
  });
  afterAll(async () => {
    await hub?.stop();
    await cleanupDirs();
  });

  it('stores the registration token hashed, never in clear', async () => {
    const doc = await hub.ctx.couch.db<any>('dom').get('node:A');
    expect(doc.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(doc)).not.toContain(tokenA);
  });

  it('lets node A read its own database', async () => {
    const r = await api(hub.url, 'GET', '/sync/A/', undefined, tokenA);
    expect(r.status).toBe(200);
    expect(r.body.db_name).toBe('node_a');
  });

  it('refuses every forbidden path', async () => {
    const attempts: [string, string, unknown, string][] = [
      ['GET', '/sync/B/', undefined, tokenA], // another node's database
      ['GET', '/sync/B/_changes', undefined, tokenA],
      ['POST', '/sync/B/_bulk_docs', { docs: [evt(1)] }, tokenA],
      ['GET', '/sync/A/', undefined, 'not-a-token'],
      ['GET', '/sync/A/', undefined, ''],
      ['GET', '/sync/A/%2e%2e%2fdom', undefined, tokenA], // path tricks
      ['GET', '/sync/A/_all_dbs', undefined, tokenA],
      ['GET', '/sync/A/_design/x', undefined, tokenA],
      ['GET', '/sync/A/_changes?filter=_selector', undefined, tokenA], // kills express-pouchdb
      ['POST', '/sync/A/_changes', { selector: {} }, tokenA],
      ['GET', '/sync/A/_changes?limit=abc', undefined, tokenA],
      ['GET', '/sync/A/_changes?feed=eventsource', undefined, tokenA],
      ['DELETE', '/sync/A/', undefined, tokenA],
      ['PUT', '/sync/A/do:X.1.A', { type: 'do' }, tokenA],
      ['GET', '/sync/A/doc/attachment', undefined, tokenA],
      ['GET', '/api/v1/facilities', undefined, tokenA], // a node token is no planner token
      ['GET', '/api/v1/facilities', undefined, ''],
    ];
    const statuses = [];
    for (const [method, path, body, token] of attempts) statuses.push((await api(hub.url, method, path, body, token)).status);
    expect(statuses.filter((s) => s >= 400 && s < 500)).toHaveLength(attempts.length);
    // the embedded server survived the filter request
    expect((await api(hub.url, 'GET', '/sync/A/', undefined, tokenA)).status).toBe(200);
  });

  // a refused document gets CouchDB's own answer (validate_doc_update): 201, `forbidden` for that
  // document, and the others are written, so one bad document never stops a node's uploads
  it("refuses a DO uploaded by a node, document by document, and writes the node's own documents sent with it", async () => {
    const d = {
      _id: 'do:X.1.A',
      type: 'do',
      doId: 'X.1.A',
      orderId: 'X',
      attempt: 1,
      facility: 'A',
      kind: 'ship',
      lines: [{ line: 1, sku: 'S', qty: 1 }],
      createdAt: new Date().toISOString(),
    };
    const r = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [evt(1), d] }, tokenA);
    expect(r.status).toBe(201);
    expect(r.body).toHaveLength(2);
    expect(r.body[0]).toMatchObject({ id: evt(1)._id, ok: true });
    expect(r.body[1]).toMatchObject({ id: d._id, error: 'forbidden' });
    expect(r.body[1].reason).toMatch(/written by the hub only/);
    const all = await hub.ctx.couch.db('node_a').list();
    expect(all.rows.map((x) => x.id)).toEqual([evt(1)._id]);
  });

  it('refuses a malformed document and writes the valid ones sent with it', async () => {
    const bad = evt(3, { status: 'teleported' });
    const r = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [evt(2), bad] }, tokenA);
    expect(r.status).toBe(201);
    expect(r.body.map((x: any) => [x.id, x.error ?? 'ok'])).toEqual([
      [evt(2)._id, 'ok'],
      [bad._id, 'forbidden'],
    ]);
    expect((await hub.ctx.couch.db('node_a').list()).rows.map((x) => x.id)).toEqual([evt(1)._id, evt(2)._id]);
    const wrongId = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [{ ...evt(4), _id: 'evt:other:0001' }] }, tokenA);
    expect(wrongId.status).toBe(201);
    expect(wrongId.body).toEqual([{ id: 'evt:other:0001', error: 'forbidden', reason: expect.stringMatching(/_id must be/) }]);
    // as a replicated revision (new_edits: false), CouchDB lists only the failures: so does the gateway
    const replicated = await api(
      hub.url,
      'POST',
      '/sync/A/_bulk_docs',
      {
        docs: [
          { ...evt(5), _rev: '1-0123456789abcdef0123456789abcdef' },
          { ...bad, _rev: '1-0123456789abcdef0123456789abcdef' },
        ],
        new_edits: false,
      },
      tokenA,
    );
    expect(replicated.status).toBe(201);
    expect(replicated.body).toEqual([{ id: bad._id, error: 'forbidden', reason: expect.any(String) }]);
    expect((await hub.ctx.couch.db('node_a').list()).rows.map((x) => x.id)).toEqual([evt(1)._id, evt(2)._id, evt(5)._id]);
    const notJson = await api(hub.url, 'POST', '/sync/A/_bulk_docs', '{"docs": [', tokenA);
    expect(notJson.status).toBe(400);
  });

  it('refuses edits of append-only documents and deletions', async () => {
    const ok = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [evt(6)] }, tokenA);
    expect(ok.status).toBe(201);
    const rev = ok.body[0].rev;
    const edit = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [{ ...evt(6), _rev: rev, status: 'shipped' }] }, tokenA);
    expect(edit.body).toEqual([{ id: evt(6)._id, error: 'forbidden', reason: expect.stringMatching(/append-only/) }]);
    const del = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [{ ...evt(6), _rev: rev, _deleted: true }] }, tokenA);
    expect(del.body).toEqual([{ id: evt(6)._id, error: 'forbidden', reason: expect.stringMatching(/never deleted/) }]);
    // a single document PUT is refused as CouchDB refuses it: 403 forbidden
    const put = await api(hub.url, 'PUT', `/sync/A/${encodeURIComponent(evt(6)._id)}`, { ...evt(6), _rev: rev, status: 'shipped' }, tokenA);
    expect(put.status).toBe(403);
    const stored = await hub.ctx.couch.db<any>('node_a').get(evt(6)._id);
    expect(stored.status).toBe('ack');
    expect(stored._rev).toBe(rev);
  });

  it("records refusals in the node's sync health", async () => {
    const r = await api(hub.url, 'GET', '/api/v1/nodes');
    const a = r.body.find((n: any) => n.id === 'A');
    expect(a.errorCount).toBeGreaterThan(0);
    expect(a.errors[0].message).toBeTruthy();
  });

  it('rate-limits repeated bad tokens', async () => {
    let last = 0;
    for (let i = 0; i < 25; i++) last = (await api(hub.url, 'GET', '/sync/B/', undefined, `wrong-${i}`)).status;
    expect(last).toBe(429);
  });
});
