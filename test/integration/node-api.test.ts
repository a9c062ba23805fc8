import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSOCIATE, api, cleanupDirs, freePort, registerFacility, tempDir, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';

describe('the node: associate API, with and without the hub', () => {
  let hub: Hub;
  let node: DomNode;
  let hubPort: number;
  let hubDir: string;
  const nodeApi = (method: string, path: string, body?: unknown, token = ASSOCIATE) => api(node.url, method, `/api/v1${path}`, body, token);
  const placeOrder = async (id: string, qty = 2) => {
    await api(hub.url, 'POST', '/api/v1/orders', {
      id,
      channel: 'web',
      delivery: 'ship',
      shipTo: { lat: 33.75, lon: -84.39 },
      lines: [{ line: 1, sku: 'TEE', qty }],
    });
    const o = await waitFor(`${id} released`, async () => {
      const r = await api(hub.url, 'GET', `/api/v1/orders/${id}`);
      return r.body.status === 'released' ? r.body : null;
    });
    const doId = o.lines[0].allocations[0].doId as string;
    await waitFor(`${doId} at the node`, async () => (await nodeApi('GET', '/tasks')).body.some((t: any) => t.doId === doId));
    return doId;
  };
  const events = async (doId: string) => (await node.db.allDocs({ startkey: `evt:${doId}:`, endkey: `evt:${doId}:\ufff0` })).rows.length;

  beforeAll(async () => {
    hubPort = await freePort();
    hubDir = tempDir('hub');
    hub = await testHub(hubDir, { port: hubPort, batchWindowMs: 50 });
    const token = await registerFacility(hub.url, { id: 'S1', capacity: 1000 });
    node = await testNode(hub.url, 'S1', token);
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'TEE', name: 'Crew tee', barcode: '4006381333931' }]);
    await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'S1', positions: [{ sku: 'TEE', onHand: 20 }] });
    await waitFor('count applied at the node', async () => (await nodeApi('GET', '/inventory')).body[0]?.onHand === 20);
  });
  afterAll(async () => {
    await node?.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('refuses every call without the associate token', async () => {
    for (const [m, p] of [
      ['GET', '/tasks'],
      ['GET', '/inventory'],
      ['GET', '/sync'],
      ['POST', '/sales'],
      ['POST', '/dos/x/ack'],
    ]) {
      const body = m === 'GET' ? undefined : {};
      expect((await nodeApi(m!, p!, body, 'wrong')).status).toBe(401);
      expect((await nodeApi(m!, p!, body, '')).status).toBe(401);
    }
  });

  it('lists open DOs with item names and barcodes, and holds their units out of available', async () => {
    const doId = await placeOrder('N-1', 3);
    const task = (await nodeApi('GET', '/tasks')).body.find((t: any) => t.doId === doId);
    expect(task).toMatchObject({ kind: 'ship', status: 'released', lines: [{ line: 1, sku: 'TEE', qty: 3, name: 'Crew tee', barcode: '4006381333931' }] });
    expect(task.allowed).toEqual(expect.arrayContaining(['ack', 'pick', 'reject']));
    // the node writes the position a DO moves just after it stores the DO (the task list shows it at once)
    const inv = await waitFor("the DO's units reserved at the node", async () => {
      const p = (await nodeApi('GET', '/inventory')).body[0];
      return p?.reserved > 0 ? p : null;
    });
    expect(inv).toMatchObject({ onHand: 20, reserved: 3, available: 17 });
  });

  it('refuses bad steps with a clear 4xx and writes no event', async () => {
    const doId = await placeOrder('N-2');
    const before = await events(doId);
    const bad: [string, unknown, number, string][] = [
      ['/dos/NOPE/ack', {}, 404, 'unknown_do'],
      [`/dos/${doId}/ship`, { carrier: 'UPS', tracking: '1' }, 409, 'step_not_allowed'],
      [`/dos/${doId}/pick`, { lines: [{ line: 1, qty: 5 }] }, 400, 'qty_above_ordered'],
      [`/dos/${doId}/pick`, { lines: [{ line: 1, qty: -1 }] }, 400, 'invalid_body'],
      [`/dos/${doId}/pick`, { lines: [{ line: 1, qty: 1 }] }, 400, 'missing_reason'],
      [`/dos/${doId}/pick`, { lines: [{ line: 9, qty: 1 }] }, 400, 'unknown_line'],
      [`/dos/${doId}/dance`, {}, 400, 'unknown_step'],
      ['/adjustments', { sku: 'TEE', onHand: -4, reason: 'count' }, 400, 'invalid_body'],
      ['/receipts', { inboundId: 'NOPE', lines: [{ sku: 'TEE', qty: 1 }] }, 404, 'unknown_inbound'],
      ['/sales', { sku: 'TEE', qty: 0 }, 400, 'invalid_body'],
      // a SKU this store has never heard of: a typo, refused (it used to create `inv:NOPE` at -1)
      ['/sales', { sku: 'NOPE', qty: 1 }, 422, 'unknown_sku'],
      ['/adjustments', { sku: 'NOPE', onHand: 3, reason: 'count' }, 422, 'unknown_sku'],
    ];
    for (const [path, body, status, code] of bad) {
      const r = await nodeApi('POST', path, body);
      expect(r.status, path).toBe(status);
      expect(r.body.error.code, path).toBe(code);
    }
    const ship = await nodeApi('POST', `/dos/${doId}/ship`, { carrier: 'UPS', tracking: '1' });
    expect(ship.body.error.details.allowed).toEqual(expect.arrayContaining(['pick']));
    expect(await events(doId)).toBe(before);
  });

  it('runs the whole flow and reports a short pick that the hub re-sources', async () => {
    // a second store so the shortfall has somewhere to go
    const token2 = await registerFacility(hub.url, { id: 'S2', lat: 33.9, lon: -84.2, capacity: 1000 });
    const s2 = await testNode(hub.url, 'S2', token2);
    try {
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'S2', positions: [{ sku: 'TEE', onHand: 10 }] });
      const doId = await placeOrder('N-3', 2);
      expect((await nodeApi('POST', `/dos/${doId}/ack`, {})).status).toBe(200);
      const picked = await nodeApi('POST', `/dos/${doId}/pick`, { lines: [{ line: 1, qty: 1, reason: 'only one on the shelf' }] });
      expect(picked.body.status).toBe('short_picked');
      expect((await nodeApi('POST', `/dos/${doId}/pack`, {})).status).toBe(200);
      expect((await nodeApi('POST', `/dos/${doId}/ship`, { carrier: 'UPS', tracking: '1Z1' })).status).toBe(200);
      const o = await waitFor('the missing unit re-sourced at S2', async () => {
        const r = await api(hub.url, 'GET', '/api/v1/orders/N-3');
        return r.body.lines[0].allocations.some((a: any) => a.facility === 'S2') ? r.body : null;
      });
      expect(o.lines[0].allocations.find((a: any) => a.facility === 'S1').doStatus).toBe('shipped');
      expect(o.status).toBe('partially_shipped');
    } finally {
      await s2.stop();
    }
  });

  it('records a sale larger than the units on hand (the goods are gone) and flags it, a count suggested', async () => {
    expect((await nodeApi('POST', '/adjustments', { sku: 'TEE', onHand: 3, reason: 'cycle count' })).status).toBe(201);
    const r = await nodeApi('POST', '/sales', { sku: 'TEE', qty: 5 });
    expect(r.status).toBe(201);
    expect(r.body.oversold).toEqual({ onHandBefore: 3, short: 2, countSuggested: true });
    expect(r.body.position.onHand).toBe(-2);
    // at the hub: the position below zero, and a count suggested
    await waitFor('the hub suggests a count', async () => {
      const f = (await api(hub.url, 'GET', '/api/v1/inventory/TEE')).body.facilities.find((x: any) => x.facility === 'S1');
      return f?.onHand === -2 && f.countSuggested === true;
    });
    // a sale within the stock is not flagged
    expect((await nodeApi('POST', '/adjustments', { sku: 'TEE', onHand: 20, reason: 'recount' })).status).toBe(201);
    expect((await nodeApi('POST', '/sales', { sku: 'TEE', qty: 1 })).body.oversold).toBeUndefined();
    await waitFor(
      'the hub sees the recount',
      async () => (await api(hub.url, 'GET', '/api/v1/inventory/TEE')).body.facilities.find((x: any) => x.facility === 'S1')?.onHand === 19,
    );
  });

  it('lets a walk-in sale eat into reserved units and flags the DO at risk', async () => {
    const inv = (await nodeApi('GET', '/inventory')).body[0];
    const doId = await placeOrder('N-4', 2);
    const now = (await nodeApi('GET', '/inventory')).body[0];
    const r = await nodeApi('POST', '/sales', { sku: 'TEE', qty: now.onHand - now.reserved + 1 });
    expect(r.status).toBe(201);
    expect(r.body.atRisk).toContain(doId);
    expect((await nodeApi('GET', '/tasks')).body.find((t: any) => t.doId === doId).atRisk).toBe(true);
    expect(inv.onHand).toBeGreaterThan(r.body.position.onHand);
    await waitFor('hub sees the DO at risk', async () => (await hub.ctx.couch.db<any>('dom').get(`dostate:${doId}`)).atRisk === true);
  });

  it('works offline: pick, pack, ship and a sale with the hub down, then converges with no conflicts', async () => {
    const count = await nodeApi('POST', '/adjustments', { sku: 'TEE', onHand: 20, reason: 'cycle count' });
    expect(count.body).toMatchObject({ onHand: 20 });
    await waitFor(
      'hub sees the count',
      async () => (await api(hub.url, 'GET', '/api/v1/inventory/TEE')).body.facilities.find((f: any) => f.facility === 'S1').onHand === 20,
    );
    const doId = await placeOrder('N-5', 1);
    expect(doId.endsWith('.S1')).toBe(true);
    await hub.stop();
    const seen: boolean[] = [];
    const sub = node.sync.online$.subscribe((v) => seen.push(v));
    await waitFor('the node notices', async () => (await nodeApi('GET', '/sync')).body.online === false);
    for (const [step, body] of [
      ['ack', {}],
      ['pick', { lines: [{ line: 1, qty: 1 }] }],
      ['pack', {}],
      ['ship', { carrier: 'USPS', tracking: '9400' }],
    ] as const) {
      expect((await nodeApi('POST', `/dos/${doId}/${step}`, body)).status).toBe(200);
    }
    // the same ship again (a retry whose answer was lost) is done already: 200; another one is not
    const again = await nodeApi('POST', `/dos/${doId}/ship`, { carrier: 'USPS', tracking: '9400' });
    expect(again).toMatchObject({ status: 200, body: { status: 'shipped' } });
    expect((await nodeApi('POST', `/dos/${doId}/ship`, { carrier: 'USPS', tracking: '9999' })).status).toBe(409);
    await nodeApi('POST', '/sales', { sku: 'TEE', qty: 1 });
    // four events, the sale and the position: all waiting for the hub
    const offline = await waitFor('pending uploads counted', async () => {
      const b = (await nodeApi('GET', '/sync')).body;
      return b.pending >= 6 ? b : null;
    });
    expect(offline.online).toBe(false);
    hub = await testHub(hubDir, { port: hubPort, batchWindowMs: 50 });
    await waitFor('shipped at the hub', async () => (await api(hub.url, 'GET', '/api/v1/orders/N-5')).body.status === 'shipped', 30_000);
    await waitFor('nothing pending', async () => (await nodeApi('GET', '/sync')).body.pending === 0);
    // both directions back: online$ says so (the pull may retry a little after the push is done)
    await waitFor('online$ back to true', () => seen.at(-1) === true);
    sub.unsubscribe();
    expect(seen).toContain(false);
    // linked again: the error that took the link down is not shown as current
    expect((await nodeApi('GET', '/sync')).body.lastError).toBeNull();
    // inventory at the hub equals the node's, which equals its ledger
    const local = (await nodeApi('GET', '/inventory')).body[0];
    // the store's view: the item's name beside the SKU, none of the database's bookkeeping
    expect(local).toMatchObject({ sku: 'TEE', name: expect.any(String) });
    expect(local._id).toBeUndefined();
    expect(local._rev).toBeUndefined();
    await waitFor(
      'hub view matches the node',
      async () => (await api(hub.url, 'GET', '/api/v1/inventory/TEE')).body.facilities.find((f: any) => f.facility === 'S1').onHand === local.onHand,
    );
    const ledger = await node.db.allDocs({ include_docs: true });
    let onHand = 0;
    const docs = ledger.rows.map((r) => r.doc as any).filter((d) => ['adj', 'sale', 'rcpt'].includes(d.type) || (d.type === 'evt' && d.status === 'shipped'));
    for (const d of docs.sort((a, b) => a.at.localeCompare(b.at))) {
      if (d.type === 'adj') onHand = d.onHand;
      else if (d.type === 'sale') onHand -= d.qty;
      else if (d.type === 'evt') {
        const pick = ledger.rows
          .map((r) => r.doc as any)
          .filter((e) => e.type === 'evt' && e.doId === d.doId && (e.status === 'picked' || e.status === 'short'))
          .at(-1);
        onHand -= pick.lines.reduce((s: number, l: any) => s + l.qty, 0);
      }
    }
    expect(local.onHand).toBe(onHand);
    const hubRows = (await hub.ctx.couch.db('node_s1').list({ include_docs: true, conflicts: true } as never)).rows as any[];
    expect(hubRows.filter((r) => r.doc?._conflicts?.length)).toHaveLength(0);
    expect((await node.db.allDocs({ conflicts: true, include_docs: true })).rows.filter((r: any) => r.doc?._conflicts?.length)).toHaveLength(0);
  });
});
