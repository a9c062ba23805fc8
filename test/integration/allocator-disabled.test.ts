import { afterAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, waitFor } from '../helpers.js';

const ATL = { lat: 33.749, lon: -84.388 };

describe('a disabled pickup store', () => {
  afterAll(() => cleanupDirs());

  it('backorders a pickup order at a disabled store, and the batch beside it goes on', async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    try {
      await registerFacility(hub.url, { id: 'DC1', type: 'dc', lat: 33.9, lon: -84.6, capacity: 1000 });
      await registerFacility(hub.url, { id: 'S1', type: 'store', lat: 33.75, lon: -84.39, capacity: 100, pickup: true });
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      for (const facility of ['DC1', 'S1']) await api(hub.url, 'POST', '/api/v1/inventory', { facility, positions: [{ sku: 'A', onHand: 20 }] });
      expect((await api(hub.url, 'PATCH', '/api/v1/facilities/S1', { enabled: false })).status).toBe(200);
      // one batch: a pickup order at the disabled store, and a ship order
      await hub.allocator.setActive(false);
      expect(
        (
          await api(hub.url, 'POST', '/api/v1/orders', {
            id: 'P-1',
            channel: 'web',
            delivery: 'pickup',
            pickupFacility: 'S1',
            lines: [{ line: 1, sku: 'A', qty: 1 }],
          })
        ).status,
      ).toBe(201);
      expect(
        (await api(hub.url, 'POST', '/api/v1/orders', { id: 'SH-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 1 }] }))
          .status,
      ).toBe(201);
      await hub.allocator.runBatch(['P-1', 'SH-1']);
      const ship = (await api(hub.url, 'GET', '/api/v1/orders/SH-1')).body;
      expect(ship.status).toBe('released');
      expect(ship.lines[0].allocations.map((a: any) => a.facility)).toEqual(['DC1']);
      const pickup = await waitFor('the pickup order backordered', async () => {
        const o = (await api(hub.url, 'GET', '/api/v1/orders/P-1')).body;
        return o.status === 'backordered' ? o : null;
      });
      expect(pickup.lines[0].allocations).toEqual([]);
      expect(pickup.explanation).toMatchObject({ reason: 'pickup_store_disabled' });
      // the store opens again: the backorder is retried and filled there
      const batches = hub.allocator.stats.batches;
      await hub.allocator.setActive(true);
      // the batch of the open orders that taking the lease queues: still closed, still backordered
      await waitFor('a batch after taking the lease', () => hub.allocator.stats.batches > batches);
      expect((await api(hub.url, 'GET', '/api/v1/orders/P-1')).body.status).toBe('backordered');
      expect((await api(hub.url, 'PATCH', '/api/v1/facilities/S1', { enabled: true })).status).toBe(200);
      const filled = await waitFor('the pickup order released at S1', async () => {
        const o = (await api(hub.url, 'GET', '/api/v1/orders/P-1')).body;
        return o.status === 'released' ? o : null;
      });
      expect(filled.lines[0].allocations.map((a: any) => a.facility)).toEqual(['S1']);
    } finally {
      await hub.stop();
    }
  });
});
