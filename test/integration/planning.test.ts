import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';

const days = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();
const date = (n: number) => days(n).slice(0, 10);

describe('purchase order flow: supply, model stock, forecasts, replenishment, ATP', () => {
  let hub: Hub;
  const nodes: Record<string, DomNode> = {};
  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const get = (path: string) => api(hub.url, 'GET', path);
  const csv = async (method: string, path: string, text: string) => {
    const r = await fetch(`${hub.url}${path}`, { method, headers: { authorization: 'Bearer planner-secret-token', 'content-type': 'text/csv' }, body: text });
    return { status: r.status, body: (await r.json()) as any };
  };

  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 100 });
    const fac = [
      { id: 'DC1', type: 'dc', lat: 33.9, lon: -84.6, capacity: 10_000, pickup: false },
      { id: 'S1', type: 'store', lat: 33.75, lon: -84.39, servingDc: 'DC1' },
      { id: 'S2', type: 'store', lat: 33.8, lon: -84.3, servingDc: 'DC1' },
      { id: 'S3', type: 'store', lat: 34.0, lon: -84.2, servingDc: 'DC1' },
    ];
    for (const f of fac) {
      const token = await registerFacility(hub.url, f as never);
      if (f.id === 'DC1' || f.id === 'S1') nodes[f.id] = await testNode(hub.url, f.id, token);
    }
    await post('/api/v1/items', [
      { sku: 'A', name: 'A' },
      { sku: 'B', name: 'B' },
      { sku: 'X', name: 'X' },
    ]);
    await post('/api/v1/inventory', {
      facility: 'DC1',
      positions: [
        { sku: 'A', onHand: 30 },
        { sku: 'B', onHand: 500 },
      ],
    });
    await post('/api/v1/inventory', {
      facility: 'S1',
      positions: [
        { sku: 'A', onHand: 5 },
        { sku: 'B', onHand: 2 },
      ],
    });
    await post('/api/v1/inventory', {
      facility: 'S2',
      positions: [
        { sku: 'A', onHand: 0 },
        { sku: 'B', onHand: 2 },
      ],
    });
    await post('/api/v1/inventory', {
      facility: 'S3',
      positions: [
        { sku: 'A', onHand: 10 },
        { sku: 'B', onHand: 2 },
      ],
    });
  });
  afterAll(async () => {
    for (const n of Object.values(nodes)) await n.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('takes model stock and forecasts as CSV and JSON, and shows the gaps', async () => {
    const ms = await csv('PUT', '/api/v1/model-stock', 'facility,sku,min,max\nS1,A,10,40\nS2,A,10,40\n"S3",A,10,40\nS1,B,5,20\nS2,B,5,20\nS3,B,5,20\n');
    expect(ms).toMatchObject({ status: 200, body: { written: 6 } });
    expect(
      (
        await post('/api/v1/forecasts', [
          { facility: 'S1', sku: 'A', date: date(0), qty: 14, period: 'week' },
          { facility: 'S3', sku: 'A', date: date(0), qty: 21, period: 'week' },
        ])
      ).status,
    ).toBe(201);
    // S2's forecast comes as CSV, one day at a time
    const rows = Array.from({ length: 28 }, (_, i) => `S2,A,${date(i)},1`).join('\n');
    expect((await csv('POST', '/api/v1/forecasts', `facility,sku,date,qty\n${rows}\n`)).status).toBe(201);
    const view = (await get('/api/v1/model-stock?sku=A')).body;
    expect(view.map((v: any) => [v.facility, v.actual, v.gap, v.belowMin])).toEqual([
      ['S1', 5, 35, true],
      ['S2', 0, 40, true],
      ['S3', 10, 30, true],
    ]);
  });

  it('splits a constrained DC across three stores by fair share and leaves nothing needed unallocated', async () => {
    // A: DC has 30; needs 35, 40, 30; forecasts 2/day, 1/day, 3/day; I = 5, 0, 10
    // DS = (30 + 15) / 6 = 7.5 → Aj = 7.5·2 − 5 = 10, 7.5·1 − 0 = 7.5, 7.5·3 − 10 = 12.5
    const r = await post('/api/v1/replenishment/run', {});
    expect(r.status).toBe(200);
    const a = Object.fromEntries(r.body.transfers.filter((t: any) => t.sku === 'A').map((t: any) => [t.to, t.qty]));
    expect(a.S1 + a.S2 + a.S3).toBe(30);
    expect(a.S1).toBe(10);
    expect(Math.abs(a.S2 - 7.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(a.S3 - 12.5)).toBeLessThanOrEqual(0.5);
    const report = r.body.fairShare.find((f: any) => f.sku === 'A');
    expect(report.daysOfSupply).toBeCloseTo(7.5);
    // B is plentiful: every store gets its need (20 − 2)
    expect(r.body.transfers.filter((t: any) => t.sku === 'B').map((t: any) => t.qty)).toEqual([18, 18, 18]);
    // the DC's node receives the transfer DOs; the store its inbound
    const doIds = [...new Set(r.body.transfers.map((t: any) => t.doId))] as string[];
    expect(doIds).toHaveLength(3);
    await waitFor('transfer DOs at DC1', () => doIds.every((id) => nodes.DC1!.store.dos.get(id)?.kind === 'transfer'));
    await waitFor('inbound at S1', () => [...nodes.S1!.store.inbound.values()].some((i) => i.kind === 'transfer'));
    // the same inputs again: nothing new
    const again = await post('/api/v1/replenishment/run', {});
    expect(again.body.created).toBe(0);
  });

  it('counts in-transit units against need, and the model-stock view shows the gap closed', async () => {
    const view = (await get('/api/v1/model-stock?facility=S1')).body;
    const a = view.find((v: any) => v.sku === 'A');
    expect(a.inTransit).toBe(10);
    expect(a.actual).toBe(15);
    const b = view.find((v: any) => v.sku === 'B');
    expect(b.gap).toBe(0);
    const inv = (await get('/api/v1/inventory/A')).body;
    expect(inv.facilities.find((f: any) => f.facility === 'S1')).toMatchObject({ onHand: 5, inTransit: 10, modelStock: { min: 10, max: 40 } });
  });

  it('promises a backorder from an incoming PO, and ships it after the receipt', async () => {
    const o = { id: 'PO-WAIT-1', channel: 'web', priority: 2, delivery: 'ship', shipTo: { lat: 33.9, lon: -84.6 }, lines: [{ line: 1, sku: 'X', qty: 3 }] };
    await post('/api/v1/orders', o);
    await waitFor('backordered', async () => (await get('/api/v1/orders/PO-WAIT-1')).body.status === 'backordered');
    const po = await post('/api/v1/purchase-orders', { id: 'PO-1', facility: 'DC1', supplier: 'Acme', expectedAt: days(3), lines: [{ sku: 'X', qty: 10 }] });
    expect(po.status).toBe(201);
    const withPromise = (await get('/api/v1/orders/PO-WAIT-1')).body;
    expect(withPromise.lines[0].promiseDate).toBe(days(3).slice(0, 10) + withPromise.lines[0].promiseDate.slice(10));
    const atp = (await get('/api/v1/atp?sku=X&qty=5&lat=33.9&lon=-84.6')).body;
    expect(atp.availableNow).toBe(0);
    expect(atp.byDate.at(-1)).toMatchObject({ qty: 7, cumulative: 7, from: 'DC1' }); // 10 incoming − 3 promised
    expect(atp.promiseDate).not.toBeNull();
    expect((await get('/api/v1/inventory/X')).body.facilities.find((f: any) => f.facility === 'DC1').onOrder).toBe(10);
    // the DC receives the PO at its node (two short: an under-receipt)
    await waitFor('PO inbound at DC1', () => nodes.DC1!.store.inbound.get('PO-1'));
    const receipt = await nodes.DC1!.store.receive('PO-1', [{ sku: 'X', qty: 8 }]);
    expect(receipt.short).toEqual([{ sku: 'X', qty: 2 }]);
    const placed = await waitFor('allocated after the receipt', async () => {
      const b = (await get('/api/v1/orders/PO-WAIT-1')).body;
      return b.status === 'released' ? b : null;
    });
    expect(placed.lines[0].allocations[0]).toMatchObject({ facility: 'DC1', qty: 3 });
    const doId = placed.lines[0].allocations[0].doId;
    const dc = nodes.DC1!.store;
    await waitFor('DO at DC1', () => dc.dos.get(doId));
    await dc.step(doId, 'pick', { lines: [{ line: 1, qty: 3 }] });
    await dc.step(doId, 'pack', {});
    await dc.step(doId, 'ship', { carrier: 'UPS', tracking: 'X1' });
    await waitFor('shipped', async () => (await get('/api/v1/orders/PO-WAIT-1')).body.status === 'shipped');
    await waitFor(
      'on order closed by the receipt',
      async () => (await get('/api/v1/inventory/X')).body.facilities.find((f: any) => f.facility === 'DC1').onOrder === 2,
    );
  });

  it('refuses bad planning input with a 4xx and stores nothing', async () => {
    const cases: [string, string, unknown, string][] = [
      [
        'POST',
        '/api/v1/purchase-orders',
        { id: 'PO-OLD', facility: 'DC1', supplier: 'Acme', expectedAt: days(-2), lines: [{ sku: 'A', qty: 1 }] },
        'invalid_body',
      ],
      [
        'POST',
        '/api/v1/purchase-orders',
        { id: 'PO-NEG', facility: 'DC1', supplier: 'Acme', expectedAt: days(2), lines: [{ sku: 'A', qty: -1 }] },
        'invalid_body',
      ],
      [
        'POST',
        '/api/v1/purchase-orders',
        { id: 'PO-NAN', facility: 'DC1', supplier: 'Acme', expectedAt: days(2), lines: [{ sku: 'A', qty: 'ten' }] },
        'invalid_body',
      ],
      [
        'POST',
        '/api/v1/purchase-orders',
        { id: 'PO-NOF', facility: 'NOPE', supplier: 'Acme', expectedAt: days(2), lines: [{ sku: 'A', qty: 1 }] },
        'unknown_facility',
      ],
      ['POST', '/api/v1/shipments', { id: 'SH-NOS', from: 'DC1', to: 'S1', expectedAt: days(2), lines: [{ sku: 'NOPE', qty: 1 }] }, 'unknown_sku'],
      ['PUT', '/api/v1/model-stock', [{ facility: 'S1', sku: 'A', min: 50, max: 10 }], 'invalid_body'],
    ];
    for (const [method, path, body, code] of cases) {
      const r = await api(hub.url, method, path, body);
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe(code);
    }
    const bad = await csv('PUT', '/api/v1/model-stock', 'facility,sku,min,max\nS1,A,10,40\nS2,A,ten,40\n');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/line 3, column 3 \("min"\)/);
    const bad2 = await csv('POST', '/api/v1/forecasts', 'facility,sku,date,qty\nS1,A,not-a-date,4\n');
    expect(bad2.body.error.message).toMatch(/line 2, column 3/);
    const pos = (await get('/api/v1/purchase-orders')).body.map((p: any) => p.id);
    expect(pos).toEqual(['PO-1']);
    expect((await get('/api/v1/model-stock?facility=S1&sku=A')).body[0]).toMatchObject({ min: 10, max: 40 });
  });

  it('closes a purchase order once every line is received: listed with closedAt and nothing remaining, answered 200 again, no longer held in memory', async () => {
    const body = { id: 'PO-FULL', facility: 'DC1', supplier: 'Acme', expectedAt: days(2), lines: [{ sku: 'B', qty: 6 }] };
    expect((await post('/api/v1/purchase-orders', body)).status).toBe(201);
    await waitFor('PO inbound at DC1', () => nodes.DC1!.store.inbound.get('PO-FULL'));
    await nodes.DC1!.store.receive('PO-FULL', [{ sku: 'B', qty: 6 }]);
    const listed = await waitFor('PO-FULL closed', async () => (await get('/api/v1/purchase-orders')).body.find((p: any) => p.id === 'PO-FULL' && p.closedAt));
    expect(listed.remaining).toEqual([]);
    expect(hub.ctx.planning.supply.has('PO-FULL')).toBe(false);
    // the under-received one (above) stays open with what is still to come
    expect((await get('/api/v1/purchase-orders')).body.find((p: any) => p.id === 'PO-1').remaining).toEqual([{ sku: 'X', qty: 2 }]);
    const again = await post('/api/v1/purchase-orders', body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: 'PO-FULL', remaining: [], closedAt: listed.closedAt });
    expect((await post('/api/v1/purchase-orders', { ...body, lines: [{ sku: 'B', qty: 7 }] })).status).toBe(409);
    // and `dom` records when, for the next start and the other instances
    await waitFor('closedAt stored', async () => !!(await hub.ctx.couch.db<{ closedAt?: string }>('dom').get('po:PO-FULL')).closedAt);
  });
});

describe('replenishment as a new user sets it up: no serving DC, days of supply before forecasts, a dry run', () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 100 });
    // registered as the README shows it: no servingDc
    await registerFacility(hub.url, { id: 'DCN', type: 'dc', lat: 40.0, lon: -100.0, capacity: 10_000, pickup: false });
    await registerFacility(hub.url, { id: 'DCF', type: 'dc', lat: 33.0, lon: -84.0, capacity: 10_000, pickup: false });
    await registerFacility(hub.url, { id: 'SN', type: 'store', lat: 40.2, lon: -100.3 });
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'Z', name: 'Z' }]);
    for (const f of ['DCN', 'DCF']) await api(hub.url, 'POST', '/api/v1/inventory', { facility: f, positions: [{ sku: 'Z', onHand: 100 }] });
    await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'SN', positions: [{ sku: 'Z', onHand: 0 }] });
  });
  afterAll(async () => {
    await hub?.stop();
    await cleanupDirs();
  });

  it('turns days of supply into units with the forecasts of the run, not those of the day the model stock was saved', async () => {
    expect((await api(hub.url, 'PUT', '/api/v1/model-stock', [{ facility: 'SN', sku: 'Z', daysOfSupply: 10 }])).status).toBe(200);
    // the forecast comes after: 3 a day
    expect(
      (
        await api(
          hub.url,
          'POST',
          '/api/v1/forecasts',
          Array.from({ length: 14 }, (_, i) => ({ facility: 'SN', sku: 'Z', date: date(i), qty: 3 })),
        )
      ).status,
    ).toBe(201);
    expect((await api(hub.url, 'GET', '/api/v1/model-stock?facility=SN')).body[0]).toMatchObject({ daysOfSupply: 10, min: 15, max: 30, gap: 30 });
  });

  it('plans a dry run without writing anything, and refuses a field it does not know', async () => {
    const dry = await api(hub.url, 'POST', '/api/v1/replenishment/run', { dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, created: 0, servedByNearestDc: [{ store: 'SN', dc: 'DCN' }] });
    expect(dry.body.transfers.map((t: any) => [t.from, t.to, t.sku, t.qty])).toEqual([['DCN', 'SN', 'Z', 30]]);
    expect((await api(hub.url, 'GET', '/api/v1/dos?facility=DCN')).body).toEqual([]);
    expect((await api(hub.url, 'GET', '/api/v1/model-stock?facility=SN')).body[0].inTransit).toBe(0);
    const typo = await api(hub.url, 'POST', '/api/v1/replenishment/run', { dryrun: true });
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toContain('dryrun');
    expect((await api(hub.url, 'GET', '/api/v1/dos?facility=DCN')).body).toEqual([]);
  });

  it('changes a facility after registration (validated, recorded in the event stream), and the run follows it', async () => {
    const before = hub.ctx.events.since(0).length;
    const r = await api(hub.url, 'PATCH', '/api/v1/facilities/SN', { servingDc: 'DCF', capacity: 250, name: 'North store' });
    expect(r.status).toBe(200);
    expect(r.body.facility).toMatchObject({ id: 'SN', servingDc: 'DCF', capacity: 250, name: 'North store' });
    expect(r.body.changes.servingDc).toEqual({ from: null, to: 'DCF' });
    expect((await api(hub.url, 'GET', '/api/v1/facilities/SN')).body).toMatchObject({ servingDc: 'DCF', capacity: 250 });
    const audit = hub.ctx.events
      .since(0)
      .slice(before)
      .filter((e) => e.type === 'facility');
    expect(audit.map((e) => e.data)).toEqual([
      expect.objectContaining({ id: 'SN', by: 'planner', changes: expect.objectContaining({ capacity: { from: 100, to: 250 } }) }),
    ]);
    // refused, and nothing changed: unknown facility, unknown field, a serving DC that is no DC, a DC with one
    for (const [path, body, status, code] of [
      ['/api/v1/facilities/NOPE', { capacity: 1 }, 404, 'unknown_facility'],
      ['/api/v1/facilities/SN', { capacty: 1 }, 400, 'unknown_field'],
      ['/api/v1/facilities/SN', { servingDc: 'SN' }, 409, 'unknown_facility'],
      ['/api/v1/facilities/DCN', { servingDc: 'DCF' }, 400, 'invalid_body'],
      ['/api/v1/facilities/SN', {}, 400, 'invalid_body'],
      ['/api/v1/facilities/SN', { capacity: -1 }, 400, 'invalid_body'],
    ] as const) {
      const bad = await api(hub.url, 'PATCH', path, body);
      expect(bad.status, JSON.stringify(body)).toBe(status);
      expect(bad.body.error.code, JSON.stringify(body)).toBe(code);
    }
    expect((await api(hub.url, 'GET', '/api/v1/facilities/SN')).body).toMatchObject({ servingDc: 'DCF', capacity: 250 });
    // the dry run now plans the store from its serving DC, the far one, and names no nearest DC
    const dry = await api(hub.url, 'POST', '/api/v1/replenishment/run', { dryRun: true });
    expect(dry.body).toMatchObject({ servedByNearestDc: [] });
    expect(dry.body.transfers.map((t: any) => t.from)).toEqual(['DCF']);
    // and back: taking the serving DC off serves it from the nearest again
    expect((await api(hub.url, 'PATCH', '/api/v1/facilities/SN', { servingDc: null })).body.facility.servingDc).toBeUndefined();
  });

  it('serves a store without a serving DC from its nearest DC, and says so', async () => {
    const run = await api(hub.url, 'POST', '/api/v1/replenishment/run', {});
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ dryRun: false, stores: 1, skipped: [], servedByNearestDc: [{ store: 'SN', dc: 'DCN' }] });
    expect(run.body.created).toBeGreaterThan(0);
    expect(run.body.transfers.map((t: any) => [t.from, t.to, t.qty])).toEqual([['DCN', 'SN', 30]]);
    await waitFor('the transfer DO at DCN', async () => (await api(hub.url, 'GET', '/api/v1/dos?facility=DCN')).body.length === 1);
  });
});
