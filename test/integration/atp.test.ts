import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, tempDir, testHub, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';

const ATL = { lat: 33.75, lon: -84.39 };
const days = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();

// DC1 and three stores around Atlanta, and one far away in Seattle
const FACILITIES = [
  { id: 'DC1', type: 'dc' as const, lat: 33.9, lon: -84.6, pickup: false },
  { id: 'S1', type: 'store' as const, lat: 33.76, lon: -84.4, pickup: true },
  { id: 'S2', type: 'store' as const, lat: 33.8, lon: -84.3, pickup: true },
  { id: 'S3', type: 'store' as const, lat: 34.1, lon: -84.2, pickup: true },
  { id: 'FAR', type: 'store' as const, lat: 47.6, lon: -122.3, pickup: true },
];
// on hand per facility and SKU
const STOCK: Record<string, Record<string, number>> = {
  DC1: { A: 50, B: 20, C: 0 },
  S1: { A: 3, B: 0, C: 1 },
  S2: { A: 4, B: 2, C: 2 },
  S3: { A: 1, B: 1, C: 0 },
  FAR: { A: 9, B: 9, C: 9 },
};

async function network(hub: Hub) {
  for (const f of FACILITIES) await registerFacility(hub.url, { ...f, capacity: 1000 });
  await api(
    hub.url,
    'POST',
    '/api/v1/items',
    ['A', 'B', 'C', 'D'].map((sku) => ({ sku, name: sku })),
  );
  for (const [facility, bySku] of Object.entries(STOCK))
    await api(hub.url, 'POST', '/api/v1/inventory', { facility, positions: Object.entries(bySku).map(([sku, onHand]) => ({ sku, onHand })) });
}

const atp = (hub: Hub, sku: string, qty: number, at = ATL, limit = 3) =>
  api(hub.url, 'GET', `/api/v1/atp?sku=${sku}&qty=${qty}&lat=${at.lat}&lon=${at.lon}&limit=${limit}`);

describe('availability: single SKU and cart checks, checkout reservations', () => {
  let hub: Hub;
  const dir = tempDir('atp');
  beforeAll(async () => {
    hub = await testHub(dir, { batchWindowMs: 50 });
    await network(hub);
  });
  afterAll(async () => {
    await hub?.stop();
    await cleanupDirs();
  });

  it('answers a single SKU from the index: the total, the nearest facilities with units, the date by supply', async () => {
    const r = await atp(hub, 'A', 5);
    expect(r.status).toBe(200);
    expect(r.body.availableNow).toBe(50 + 3 + 4 + 1 + 9);
    expect(r.body.facilities.map((f: any) => f.facility)).toEqual(['S1', 'S2', 'DC1']);
    expect(r.body.facilities[0]).toMatchObject({ facility: 'S1', available: 3 });
    // C is at S1 and S2 only near Atlanta; D nowhere until a PO arrives
    expect((await atp(hub, 'C', 1)).body.facilities.map((f: any) => f.facility)).toEqual(['S1', 'S2', 'FAR']);
    await api(hub.url, 'POST', '/api/v1/purchase-orders', {
      id: 'PO-D',
      facility: 'DC1',
      supplier: 'Acme',
      expectedAt: days(4),
      lines: [{ sku: 'D', qty: 7 }],
    });
    const d = await atp(hub, 'D', 5);
    expect([d.body.availableNow, d.body.facilities, d.body.promiseDate?.slice(0, 10)]).toEqual([0, [], days(4).slice(0, 10)]);
  });

  it('checks a cart: each line as the single-SKU check answers it, and whether one facility ships it all', async () => {
    const cart = [
      { sku: 'A', qty: 2 },
      { sku: 'B', qty: 2 },
      { sku: 'C', qty: 1 },
    ];
    const r = await api(hub.url, 'POST', '/api/v1/atp', { lines: cart, shipTo: ATL, limit: 3 });
    expect(r.status).toBe(200);
    for (const [i, l] of cart.entries()) {
      const one = (await atp(hub, l.sku, l.qty)).body;
      expect(r.body.lines[i]).toEqual({ ...one, promiseDate: r.body.lines[i].promiseDate });
      expect(r.body.lines[i].promiseDate === null).toBe(one.promiseDate === null);
    }
    // S2 is the nearest with A, B and C all in stock
    expect(r.body.singleFacility).toMatchObject({ facility: 'S2', date: 'now' });
    expect(r.body.allAvailableNow).toBe(true);
    // a cart no facility has whole now, until DC1's PO of D arrives
    const later = await api(hub.url, 'POST', '/api/v1/atp', {
      lines: [
        { sku: 'A', qty: 1 },
        { sku: 'D', qty: 3 },
      ],
      shipTo: ATL,
    });
    expect(later.body.singleFacility).toMatchObject({ facility: 'DC1' });
    expect(later.body.singleFacility.date.slice(0, 10)).toBe(days(4).slice(0, 10));
    // a pickup store: only that store is asked
    const pick = await api(hub.url, 'POST', '/api/v1/atp', {
      lines: [
        { sku: 'A', qty: 2 },
        { sku: 'C', qty: 1 },
      ],
      pickupFacility: 'S1',
    });
    expect(pick.body.singleFacility).toMatchObject({ facility: 'S1', date: 'now', km: 0 });
    const none = await api(hub.url, 'POST', '/api/v1/atp', { lines: [{ sku: 'B', qty: 1 }], pickupFacility: 'S1' });
    expect(none.body.singleFacility).toBeNull();
  });

  it('refuses a cart it cannot read, naming what is wrong', async () => {
    const cases: [unknown, string][] = [
      [{ lines: [] }, 'invalid_body'],
      [
        {
          lines: [
            { sku: 'A', qty: 1 },
            { sku: 'A', qty: 2 },
          ],
        },
        'duplicate_sku',
      ],
      [{ lines: [{ sku: 'NOPE', qty: 1 }] }, 'unknown_sku'],
      [{ lines: [{ sku: 'A', qty: 1 }], shipTo: ATL, pickupFacility: 'S1' }, 'invalid_body'],
      [{ lines: [{ sku: 'A', qty: 1 }], pickupFacility: 'DC1' }, 'no_pickup'],
      [{ lines: [{ sku: 'A', qty: 1 }], reserve: { ttlSeconds: 0 } }, 'invalid_body'],
      [{ lines: [{ sku: 'A', qty: 1 }], reserve: { ttlSeconds: 7200 } }, 'invalid_body'],
      [{ lines: [{ sku: 'A', qty: 1, note: 'x' }] }, 'unknown_field'],
    ];
    for (const [body, code] of cases) {
      const r = await api(hub.url, 'POST', '/api/v1/atp', body);
      expect([r.status, r.body.error?.code], JSON.stringify(body)).toEqual([400, code]);
    }
    const order = { id: 'RSV-BAD', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 1 }] };
    const bad = await api(hub.url, 'POST', '/api/v1/orders', { ...order, reservation: 'rsv-00000000-0000-4000-8000-000000000000' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'unknown_reservation']);
    expect((await api(hub.url, 'GET', '/api/v1/orders/RSV-BAD')).status).toBe(404);
  });

  it('a reservation holds its units against other checks and other orders, and they go to the order that names it', async () => {
    // all of S2's C (2) and B (2): the nearest facility with the whole cart
    const r = await api(hub.url, 'POST', '/api/v1/atp', {
      lines: [
        { sku: 'B', qty: 2 },
        { sku: 'C', qty: 2 },
      ],
      shipTo: ATL,
      reserve: { ttlSeconds: 600 },
    });
    expect(r.body.singleFacility).toMatchObject({ facility: 'S2', date: 'now' });
    const rsv = r.body.reservation;
    expect(rsv).toMatchObject({
      status: 'held',
      lines: [
        { sku: 'B', qty: 2, reserved: 2, holds: [{ facility: 'S2', qty: 2 }] },
        { sku: 'C', qty: 2, reserved: 2, holds: [{ facility: 'S2', qty: 2 }] },
      ],
    });
    // other checks no longer see them
    const c = (await atp(hub, 'C', 1)).body;
    expect(c.availableNow).toBe(1 + 9);
    expect(c.facilities.map((f: any) => f.facility)).toEqual(['S1', 'FAR']);
    const inv = (await api(hub.url, 'GET', '/api/v1/inventory/C')).body;
    expect(inv.facilities.find((f: any) => f.facility === 'S2')).toMatchObject({ onHand: 2, reservedForCheckout: 2, available: 0 });
    expect(inv.totals.reservedForCheckout).toBe(2);
    // an order for C without the reservation does not get S2's units (S1 has one, FAR the rest)
    const other = { id: 'RSV-OTHER', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'C', qty: 2 }] };
    expect((await api(hub.url, 'POST', '/api/v1/orders', other)).status).toBe(201);
    const o1 = await waitFor('the other order allocated', async () => {
      const x = (await api(hub.url, 'GET', '/api/v1/orders/RSV-OTHER')).body;
      return x.status === 'released' ? x : null;
    });
    expect(o1.lines[0].allocations.map((a: any) => a.facility).sort()).not.toContain('S2');
    // the order that names it gets exactly the held units, at S2
    const mine = {
      id: 'RSV-MINE',
      channel: 'web',
      delivery: 'ship',
      shipTo: ATL,
      reservation: rsv.id,
      lines: [
        { line: 1, sku: 'B', qty: 2 },
        { line: 2, sku: 'C', qty: 2 },
      ],
    };
    expect((await api(hub.url, 'POST', '/api/v1/orders', mine)).status).toBe(201);
    const o2 = await waitFor('the reserved order allocated', async () => {
      const x = (await api(hub.url, 'GET', '/api/v1/orders/RSV-MINE')).body;
      return x.status === 'released' ? x : null;
    });
    expect(o2.lines.map((l: any) => l.allocations.map((a: any) => [a.facility, a.qty]))).toEqual([[['S2', 2]], [['S2', 2]]]);
    expect(o2.explanation.reservation).toMatchObject({ id: rsv.id, units: 4, facilities: ['S2'] });
    // consumed: the units are the DO's now (reserved, not reserved for checkout), and no one else may name it
    const inv2 = (await api(hub.url, 'GET', '/api/v1/inventory/C')).body.facilities.find((f: any) => f.facility === 'S2');
    expect(inv2).toMatchObject({ reserved: 2, reservedForCheckout: 0, available: 0 });
    await waitFor('the reservation recorded as consumed', async () => (await api(hub.url, 'GET', `/api/v1/reservations/${rsv.id}`)).body.status === 'consumed');
    expect((await api(hub.url, 'GET', `/api/v1/reservations/${rsv.id}`)).body.orderId).toBe('RSV-MINE');
    const third = await api(hub.url, 'POST', '/api/v1/orders', { ...mine, id: 'RSV-THIRD' });
    expect([third.status, third.body.error.code]).toEqual([409, 'reservation_used']);
  });

  it('gives the units back when released, and when the reservation expires', async () => {
    const before = (await atp(hub, 'A', 1)).body.availableNow;
    const r = (await api(hub.url, 'POST', '/api/v1/atp', { lines: [{ sku: 'A', qty: 5 }], shipTo: ATL, reserve: { ttlSeconds: 600 } })).body.reservation;
    expect((await atp(hub, 'A', 1)).body.availableNow).toBe(before - 5);
    const rel = await api(hub.url, 'DELETE', `/api/v1/reservations/${r.id}`);
    expect([rel.status, rel.body.status]).toEqual([200, 'released']);
    expect((await atp(hub, 'A', 1)).body.availableNow).toBe(before);
    // a short one expires by itself
    const short = (await api(hub.url, 'POST', '/api/v1/atp', { lines: [{ sku: 'A', qty: 4 }], shipTo: ATL, reserve: { ttlSeconds: 1 } })).body.reservation;
    expect((await atp(hub, 'A', 1)).body.availableNow).toBe(before - 4);
    await waitFor('the short reservation expired', async () => (await atp(hub, 'A', 1)).body.availableNow === before, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(short.expiresAt));
    await waitFor('recorded as expired', async () => (await api(hub.url, 'GET', `/api/v1/reservations/${short.id}`)).body.status === 'expired');
    expect((await api(hub.url, 'GET', '/api/v1/reservations/rsv-00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('holds a reservation again after a hub restart', async () => {
    const before = (await atp(hub, 'B', 1)).body.availableNow;
    const r = (await api(hub.url, 'POST', '/api/v1/atp', { lines: [{ sku: 'B', qty: 3 }], shipTo: ATL, reserve: { ttlSeconds: 600 } })).body.reservation;
    await hub.stop();
    hub = await testHub(dir, { batchWindowMs: 50 });
    expect((await atp(hub, 'B', 1)).body.availableNow).toBe(before - 3);
    expect((await api(hub.url, 'GET', `/api/v1/reservations/${r.id}`)).body.status).toBe('held');
    await api(hub.url, 'DELETE', `/api/v1/reservations/${r.id}`);
    expect((await atp(hub, 'B', 1)).body.availableNow).toBe(before);
  });
});
