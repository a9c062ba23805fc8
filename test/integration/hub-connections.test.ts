/**
 * The hub's requests to CouchDB stay few at a time however many orders a batch touches. Every
 * backorder is planned again at each supply change, and its bookkeeping (a read of the order, a
 * roll-up of its DO states) was done for all of them at once: in the soak, with a few hundred
 * backorders, that was a burst of a few hundred requests at a time to the embedded server, each on
 * a connection of its own kept open for a minute after (the hub at 1,400 descriptors and +31 % RSS;
 * docs/RELIABILITY.md, finding 26). Counted here: the requests to CouchDB open at once while the hub
 * plans 80 backorders again; the live feeds (longpolls held open on purpose) are not counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';

const ORDERS = 80;
/** The allocator's bookkeeping runs 8 orders at a time; the rest is the batch's own writes and the feeds' reads. */
const MAX_AT_ONCE = 24;

describe("the hub's requests to CouchDB", () => {
  let hub: Hub | undefined;
  const realFetch = globalThis.fetch;
  afterAll(async () => {
    globalThis.fetch = realFetch;
    await hub?.stop();
    await cleanupDirs();
  });

  it('stay a few at a time while a batch of backorders is planned again', async () => {
    hub = await testHub();
    const h = hub;
    const couchUrl = h.ctx.couch.url;
    let open = 0;
    let peak = 0;
    let counted = 0;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const live = /[?&]feed=(longpoll|continuous)/.test(url);
      if (!url.startsWith(couchUrl) || live) return realFetch(input, init);
      open++;
      counted++;
      peak = Math.max(peak, open);
      try {
        return await realFetch(input, init);
      } finally {
        open--;
      }
    }) as typeof fetch;

    await registerFacility(h.url, { id: 'DC1', type: 'dc' });
    expect((await api(h.url, 'POST', '/api/v1/items', [{ sku: 'NONE', name: 'never stocked' }])).status).toBe(201);
    const orders = Array.from({ length: ORDERS }, (_, i) => ({
      id: `BO-${String(i).padStart(3, '0')}`,
      channel: 'web',
      delivery: 'ship',
      shipTo: { lat: 33.75, lon: -84.39 },
      lines: [{ line: 1, sku: 'NONE', qty: 1 }],
    }));
    const intake = await api(h.url, 'POST', '/api/v1/orders/bulk', { orders });
    expect(intake.status).toBe(200);
    expect(intake.body.summary.created).toBe(ORDERS);
    const backordered = async () => {
      if (!h.allocator.idle) return false;
      const views = await Promise.all(orders.map((o) => api(h.url, 'GET', `/api/v1/orders/${o.id}`)));
      return views.every((v) => v.status === 200 && v.body.status === 'backordered');
    };
    await waitFor(`all ${ORDERS} orders backordered`, backordered, 60_000, 200);

    // a new facility: every backorder is planned again, in one batch, and finds nothing again
    const batches = h.allocator.stats.batches;
    peak = 0;
    counted = 0;
    await registerFacility(h.url, { id: 'DC2', type: 'dc' });
    await waitFor('the backorders planned again', () => h.allocator.stats.batches > batches && h.allocator.idle, 60_000, 50);
    const one = await api(h.url, 'GET', `/api/v1/orders/${orders[0]!.id}`);
    expect(one.body.status).toBe('backordered');
    // the retry did read every order (otherwise the bound would say nothing)
    expect(counted).toBeGreaterThanOrEqual(ORDERS);
    expect(peak).toBeLessThanOrEqual(MAX_AT_ONCE);
  }, 120_000);
});
