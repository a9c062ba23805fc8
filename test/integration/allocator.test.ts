import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, testNode, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import type { DomNode } from '../../node/index.js';

const ATL = { lat: 33.749, lon: -84.388 };
let seq = 0;
const order = (lines: object[], extra: object = {}) => ({ id: `T-${++seq}`, channel: 'web', priority: 5, delivery: 'ship', shipTo: ATL, lines, ...extra });

describe('sales order management through the API, with real nodes', () => {
  let hub: Hub;
  const nodes: Record<string, DomNode> = {};

  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const get = (path: string) => api(hub.url, 'GET', path);
  const until = (id: string, pred: (o: any) => boolean, what = 'order state') =>
    waitFor(`${id}: ${what}`, async () => {
      const r = await get(`/api/v1/orders/${id}`);
      return r.status === 200 && pred(r.body) ? r.body : null;
    });
  const allocs = (o: any) => o.lines.flatMap((l: any) => l.allocations);
  const onNode = (f: string, doId: string) => waitFor(`${doId} at ${f}`, () => nodes[f]!.store.dos.get(doId));

  beforeAll(async () => {
    hub = await testHub(undefined, { batchWindowMs: 150 });
    const fac = [
      { id: 'DC1', type: 'dc', lat: 33.9, lon: -84.6, capacity: 1000, pickup: false },
      { id: 'S1', type: 'store', lat: 33.75, lon: -84.39, capacity: 100, pickup: true },
      { id: 'S2', type: 'store', lat: 33.8, lon: -84.3, capacity: 100, pickup: true },
      { id: 'S3', type: 'store', lat: 34.0, lon: -84.2, capacity: 100, pickup: true, shipFromStore: false },
    ];
    for (const f of fac) {
      const token = await registerFacility(hub.url, f as never);
      nodes[f.id] = await testNode(hub.url, f.id, token);
    }
    expect(
      (
        await post('/api/v1/items', [
          { sku: 'A', name: 'Alpha tee', barcode: '0001', substitutes: ['A2'] },
          { sku: 'A2', name: 'Alpha tee v2', barcode: '0002' },
          { sku: 'B', name: 'Bravo mug', barcode: '0003' },
          { sku: 'C', name: 'Charlie cap', barcode: '0004' },
          { sku: 'D', name: 'Delta sock', barcode: '0005' },
        ])
      ).status,
    ).toBe(201);
    const inv = {
      DC1: [
        ['A', 0],
        ['B', 50],
        ['C', 3],
        ['D', 10],
      ],
      S1: [
        ['A', 10],
        ['B', 5],
        ['D', 1],
      ],
      S2: [
        ['A2', 5],
        ['C', 4, 2],
        ['D', 2],
      ],
      S3: [
        ['A', 100],
        ['D', 50],
      ],
    } as const;
    for (const [facility, rows] of Object.entries(inv)) {
      const r = await post('/api/v1/inventory', {
        facility,
        positions: rows.map(([sku, onHand, safetyStock]) => ({ sku, onHand, safetyStock: safetyStock ?? 0 })),
      });
      expect(r.status).toBe(201);
    }
    // the counts reach the nodes, which then report their positions
    await waitFor('S1 counted', () => nodes.S1!.store.positions().find((p) => p.sku === 'A')?.onHand === 10);
  });
  afterAll(async () => {
    for (const n of Object.values(nodes)) await n.stop();
    await hub?.stop();
    await cleanupDirs();
  });

  it('allocates an order, releases the DO to the nearest store, and rolls up its fulfilment', async () => {
    const o = order([{ line: 1, sku: 'A', qty: 2 }]);
    expect((await post('/api/v1/orders', o)).status).toBe(201);
    const placed = await until(o.id, (x) => x.status === 'released');
    expect(allocs(placed)).toEqual([expect.objectContaining({ facility: 'S1', sku: 'A', qty: 2, doStatus: 'released' })]);
    expect(placed.explanation.chosen[0].facility).toBe('S1');
    // S3 is nearer than DC1 and holds 100 A, but does not ship from store: the explanation says so
    expect(placed.explanation.candidates.find((c: any) => c.facility === 'S3').excluded).toMatch(/ship from store/);
    const doId = allocs(placed)[0].doId;
    const s1 = nodes.S1!.store;
    await onNode('S1', doId);
    expect(s1.getTask(doId).lines[0]).toMatchObject({ name: 'Alpha tee', barcode: '0001' });
    await s1.step(doId, 'ack', {});
    await s1.step(doId, 'pick', { lines: [{ line: 1, qty: 2 }] });
    await s1.step(doId, 'pack', {});
    await s1.step(doId, 'ship', { carrier: 'UPS', tracking: '1Z999' });
    const shipped = await until(o.id, (x) => x.status === 'shipped');
    expect(shipped.lines[0].status).toBe('shipped');
    await waitFor('S1 on hand 8', () => s1.positions().find((p) => p.sku === 'A')?.onHand === 8);
  });

  it('is idempotent on the order id, and refuses a different body under a used id', async () => {
    const o = order([{ line: 1, sku: 'B', qty: 1 }]);
    const first = await post('/api/v1/orders', o);
    const again = await post('/api/v1/orders', o);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect((await post('/api/v1/orders', { ...o, lines: [{ line: 1, sku: 'B', qty: 2 }] })).status).toBe(409);
    const done = await until(o.id, (x) => x.status === 'released');
    expect(allocs(done)).toHaveLength(1);
  });

  it('splits a constrained SKU by priority with no inversion, and backorders the rest', async () => {
    // C: DC1 3, S2 4 with safety stock 2 → 5 units in the network
    const low = order([{ line: 1, sku: 'C', qty: 3 }], { priority: 7 });
    const high = order([{ line: 1, sku: 'C', qty: 4 }], { priority: 1 });
    await Promise.all([post('/api/v1/orders', low), post('/api/v1/orders', high)]);
    const h = await until(high.id, (x) => x.status === 'released');
    const l = await until(low.id, (x) => x.status === 'partially_allocated');
    const units = (o: any) => allocs(o).reduce((s: number, a: any) => s + a.qty, 0);
    expect(units(h)).toBe(4);
    expect(units(l)).toBe(1);
    expect(l.lines[0].unallocated).toBe(2);
    const view = await get('/api/v1/inventory/C');
    expect(view.body.facilities.find((f: any) => f.facility === 'S2').available).toBe(0);
    // safety stock was never touched
    expect(
      view.body.facilities.find((f: any) => f.facility === 'S2').onHand - view.body.facilities.find((f: any) => f.facility === 'S2').reserved,
    ).toBeGreaterThanOrEqual(2);
  });

  it('retries a backorder when stock arrives at a node', async () => {
    const o = order([{ line: 1, sku: 'B', qty: 60 }]);
    await post('/api/v1/orders', o);
    await until(o.id, (x) => x.status === 'partially_allocated');
    // S2 was never counted for B: the planners load a count of none, then the store finds some
    await post('/api/v1/inventory', { facility: 'S2', positions: [{ sku: 'B', onHand: 0 }] });
    await waitFor('S2 applied the count of B', () => nodes.S2!.store.positions().some((p) => p.sku === 'B'));
    await nodes.S2!.store.adjust('B', 20, 'found a case in the back');
    const full = await until(o.id, (x) => x.status === 'released', 'released after the receipt');
    expect(allocs(full).some((a: any) => a.facility === 'S2')).toBe(true);
  });

  it('uses a substitute only when the ordered SKU is short, and records which SKU', async () => {
    // A: S1 8 left (after the first test), S3 does not ship; order 12 with substitutes allowed
    const o = order([{ line: 1, sku: 'A', qty: 12, allowSubstitutes: true }], { priority: 2 });
    await post('/api/v1/orders', o);
    const done = await until(o.id, (x) => x.status === 'released');
    const bySku = Object.fromEntries(
      ['A', 'A2'].map((s) => [
        s,
        allocs(done)
          .filter((a: any) => a.sku === s)
          .reduce((t: number, a: any) => t + a.qty, 0),
      ]),
    );
    expect(bySku.A).toBe(8);
    expect(bySku.A2).toBe(4);
    expect(done.explanation.substitutions[0]).toMatch(/A2 for A/);
  });

  it('fills a pickup order at its store', async () => {
    const o = order([{ line: 1, sku: 'D', qty: 1 }], { delivery: 'pickup', pickupFacility: 'S3', shipTo: undefined, customerName: 'Ada Lovelace' });
    await post('/api/v1/orders', o);
    const placed = await until(o.id, (x) => x.status === 'released');
    expect(allocs(placed)[0].facility).toBe('S3');
    const doId = allocs(placed)[0].doId;
    const s3 = nodes.S3!.store;
    await onNode('S3', doId);
    await s3.step(doId, 'pick', { lines: [{ line: 1, qty: 1 }] });
    await s3.step(doId, 'ready', {});
    await until(o.id, (x) => x.status === 'ready_for_pickup');
    await expect(s3.step(doId, 'pickedup', { customerName: 'Someone Else' })).rejects.toMatchObject({ status: 422 });
    await s3.step(doId, 'pickedup', { customerName: 'ada lovelace' });
    await until(o.id, (x) => x.status === 'completed');
  });

  it('re-sources a short pick at another facility, never the one that came up short', async () => {
    const o = order([{ line: 1, sku: 'D', qty: 1 }]);
    await post('/api/v1/orders', o);
    const placed = await until(o.id, (x) => x.status === 'released');
    const first = allocs(placed)[0];
    const node = nodes[first.facility]!;
    await onNode(first.facility, first.doId);
    await node.store.step(first.doId, 'pick', { lines: [{ line: 1, qty: 0, reason: 'not on shelf' }] });
    const again = await until(o.id, (x) => allocs(x).length === 2 && x.status === 'released', 're-sourced');
    const second = allocs(again).find((a: any) => a.doId !== first.doId);
    expect(second.facility).not.toBe(first.facility);
    expect(allocs(again).find((a: any) => a.doId === first.doId).doStatus).toBe('short_picked');
  });

  it('cancels what has not shipped after a partial shipment', async () => {
    // B: 1 unit at S1 nearby is not enough for 10; the rest comes from DC1 → two DOs
    const o = order([
      { line: 1, sku: 'B', qty: 4 },
      { line: 2, sku: 'D', qty: 5 },
    ]);
    await post('/api/v1/orders', o);
    const placed = await until(o.id, (x) => x.status === 'released');
    const dos = [...new Map(allocs(placed).map((a: any) => [a.doId, a])).values()] as any[];
    expect(dos.length).toBeGreaterThanOrEqual(2);
    const [shipIt, ...rest] = dos;
    const n = nodes[shipIt.facility]!.store;
    await onNode(shipIt.facility, shipIt.doId);
    const task = n.getTask(shipIt.doId);
    await n.step(shipIt.doId, 'pick', { lines: task.lines.map((l) => ({ line: l.line, qty: l.qty })) });
    await n.step(shipIt.doId, 'pack', {});
    await n.step(shipIt.doId, 'ship', { carrier: 'FedEx', tracking: 'F1' });
    await until(o.id, (x) => x.status === 'partially_shipped');
    const metric = async () => Number(/^dom_orders_cancel_requested_total (\d+)/m.exec(await (await fetch(`${hub.url}/metrics`)).text())?.[1] ?? 0);
    const before = await metric();
    const c = await post(`/api/v1/orders/${o.id}/cancel`, {});
    expect(c.status).toBe(200);
    // asked again: the same answer, counted once
    expect((await post(`/api/v1/orders/${o.id}/cancel`, {})).status).toBe(200);
    expect((await post(`/api/v1/orders/${o.id}/cancel`, {})).status).toBe(200);
    expect((await metric()) - before).toBe(1);
    expect(c.body.cancelledDos.sort()).toEqual(rest.map((d) => d.doId).sort());
    const final = await until(o.id, (x) => allocs(x).filter((a: any) => a.doStatus === 'cancelled').length >= rest.length, 'cancel confirmed by the node');
    expect(final.status).toBe('partially_shipped');
    expect(allocs(final).find((a: any) => a.doId === shipIt.doId).doStatus).toBe('shipped');
  });

  it('refuses bad orders with a 4xx and stores nothing', async () => {
    const bad: [unknown, string][] = [
      [order([{ line: 1, sku: 'NOPE', qty: 1 }]), 'unknown_sku'],
      [order([{ line: 1, sku: 'A', qty: 0 }]), 'invalid_body'],
      [order([{ line: 1, sku: 'A', qty: -2 }]), 'invalid_body'],
      [order([{ line: 1, sku: 'A', qty: 1.5 }]), 'invalid_body'],
      [
        order([
          { line: 1, sku: 'A', qty: 1 },
          { line: 1, sku: 'B', qty: 1 },
        ]),
        'invalid_body',
      ],
      [order(Array.from({ length: 101 }, (_, i) => ({ line: i + 1, sku: 'A', qty: 1 }))), 'invalid_body'],
      [order([{ line: 1, sku: 'A', qty: 1 }], { delivery: 'pickup', pickupFacility: 'NOWHERE', shipTo: undefined }), 'unknown_facility'],
      ['{"id": "X",', 'malformed_json'],
      // a typo is refused, naming the field (it was accepted with substitutes silently off)
      [order([{ line: 1, sku: 'A', qty: 1, allowSubstitute: true }]), 'unknown_field'],
      [order([{ line: 1, sku: 'A', qty: 1 }], { shipto: ATL }), 'unknown_field'],
    ];
    for (const [body, code] of bad) {
      const r = await post('/api/v1/orders', body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe(code);
    }
    for (const [body] of bad) if (typeof body === 'object') expect((await get(`/api/v1/orders/${(body as any).id}`)).status).toBe(404);
    const typo = await post('/api/v1/orders', order([{ line: 1, sku: 'A', qty: 1, allowSubstitute: true }]));
    expect(typo.body.error.message).toContain('lines.0.allowSubstitute');
  });

  it('refuses query parameters it does not take, and bad values, naming them (they gave [] or a default)', async () => {
    for (const [path, code, names] of [
      ['/api/v1/orders?status=bogus', 'invalid_query', 'status'],
      ['/api/v1/orders?limit=abc', 'invalid_query', 'limit'],
      ['/api/v1/orders?stauts=shipped', 'unknown_parameter', 'stauts'],
      ['/api/v1/dos?state=bogus', 'invalid_query', 'state'],
      ['/api/v1/atp?sku=A&quantity=2', 'unknown_parameter', 'quantity'],
      ['/api/v1/events?types=bogus', 'invalid_query', 'bogus'],
    ] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body.error.code, path).toBe(code);
      expect(JSON.stringify(r.body.error), path).toContain(names);
    }
    expect((await get('/api/v1/orders?status=shipped&limit=5')).status).toBe(200);
  });
});
