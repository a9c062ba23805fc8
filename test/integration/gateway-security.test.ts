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

  it('refuses a DO uploaded by a node and stores nothing of that request', async () => {
    const d = { _id: 'do:X.1.A', type: 'do', doId: 'X.1.A', orderId: 'X', attempt: 1, facility: 'A', kind: 'ship', lines: [{ line: 1, sku: 'S', qty: 1 }], createdAt: new Date().toISOString() };
    const r = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [evt(1), d] }, tokenA);
    expect(r.status).toBe(403);
    expect(r.body.reason).toMatch(/written by the hub only/);
    const all = await hub.ctx.couch.db('node_a').list();
    expect(all.rows.map((x) => x.id)).toEqual([]);
  });

  it('refuses a malformed document and the valid ones sent with it', async () => {
    const bad = evt(2, { status: 'teleported' });
    const r = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [evt(1), bad] }, tokenA);
    expect(r.status).toBe(403);
    expect(r.body.refused[0].id).toBe(bad._id);
    expect((await hub.ctx.couch.db('node_a').list()).rows).toHaveLength(0);
    const wrongId = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [{ ...evt(3), _id: 'evt:other:0001' }] }, tokenA);
    expect(wrongId.status).toBe(403);
    const notJson = await api(hub.url, 'POST', '/sync/A/_bulk_docs', '{"docs": [', tokenA);
    expect(notJson.status).toBe(400);
  });

  it('refuses edits of append-only documents and deletions', async () => {
    const ok = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [evt(1)] }, tokenA);
    expect(ok.status).toBe(201);
    const rev = ok.body[0].rev;
    const edit = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [{ ...evt(1), _rev: rev, status: 'shipped' }] }, tokenA);
    expect(edit.status).toBe(403);
    const del = await api(hub.url, 'POST', '/sync/A/_bulk_docs', { docs: [{ ...evt(1), _rev: rev, _deleted: true }] }, tokenA);
    expect(del.status).toBe(403);
    const stored = await hub.ctx.couch.db<any>('node_a').get(evt(1)._id);
    expect(stored.status).toBe('ack');
    expect(stored._rev).toBe(rev);
  });

  it('records refusals in the node\'s sync health', async () => {
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
