import { afterAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, freePort, openTestCouch, registerFacility, spawnHub, tempDir, testHub, waitFor } from '../helpers.js';

const order = (id: string, qty = 1, sku = 'A') => ({
  id,
  channel: 'web',
  delivery: 'ship',
  shipTo: { lat: 33.75, lon: -84.39 },
  lines: [{ line: 1, sku, qty }],
});

async function network(url: string, facilities: string[]) {
  for (const [i, id] of facilities.entries())
    await registerFacility(url, { id, type: i === 0 ? 'dc' : 'store', lat: 33.7 + i * 0.1, lon: -84.4 + i * 0.05, capacity: 100_000 });
  await api(
    url,
    'POST',
    '/api/v1/items',
    ['A', 'B'].map((sku) => ({ sku, name: sku })),
  );
  for (const facility of facilities) await api(url, 'POST', '/api/v1/inventory', { facility, positions: ['A', 'B'].map((sku) => ({ sku, onHand: 10_000 })) });
}

describe('bulk intake: POST /api/v1/orders/bulk', () => {
  afterAll(() => cleanupDirs());

  it('answers each order as the single endpoint would and stores exactly the valid ones, once', async () => {
    const hub = await testHub(tempDir('bulk'));
    try {
      await network(hub.url, ['DC1', 'S1']);
      expect((await api(hub.url, 'POST', '/api/v1/orders', order('B-OLD', 2))).status).toBe(201);
      expect((await api(hub.url, 'POST', '/api/v1/orders', order('B-TAKEN', 1))).status).toBe(201);
      const body = {
        orders: [
          order('B-1'),
          order('B-OLD', 2), // the same body again
          order('B-TAKEN', 5), // the same id, another body
          { ...order('B-2'), lines: [] }, // invalid: no lines
          order('B-3', 1, 'NO-SUCH-SKU'), // unknown SKU
          { ...order('B-4'), allowSubstitute: true }, // a field no order has
          'not an order',
          order('B-5', 3),
          order('B-5', 3), // twice in the same request
        ],
      };
      const r = await api(hub.url, 'POST', '/api/v1/orders/bulk', body);
      expect(r.status).toBe(200);
      const got = r.body.results.map((x: any) => [x.index, x.id ?? null, x.status, x.error?.code ?? null]);
      expect(got).toEqual([
        [0, 'B-1', 201, null],
        [1, 'B-OLD', 200, null],
        [2, 'B-TAKEN', 409, 'order_exists'],
        [3, 'B-2', 400, 'invalid_body'],
        [4, 'B-3', 400, 'unknown_sku'],
        [5, 'B-4', 400, 'unknown_field'],
        [6, null, 400, 'invalid_body'],
        [7, 'B-5', 201, null],
        [8, 'B-5', 200, null],
      ]);
      expect(r.body.summary).toEqual({ created: 2, unchanged: 2, conflicts: 1, invalid: 4, unavailable: 0 });
      expect(r.body.results[0].order.lines[0]).toMatchObject({ sku: 'A', qty: 1 });

      // stored: the old two and the two new, each once; the conflicting one unchanged
      const all = await api(hub.url, 'GET', '/api/v1/orders?limit=500');
      expect(all.body.map((o: any) => o.id).sort()).toEqual(['B-1', 'B-5', 'B-OLD', 'B-TAKEN']);
      const taken = await api(hub.url, 'GET', '/api/v1/orders/B-TAKEN');
      expect(taken.body.lines[0].qty).toBe(1);
      await waitFor('the new orders allocated', async () => {
        const os = await Promise.all(['B-1', 'B-5'].map((id) => api(hub.url, 'GET', `/api/v1/orders/${id}`)));
        return os.every((o) => o.body.status === 'released');
      });
    } finally {
      await hub.stop();
    }
  });

  it('refuses a request it cannot read as a whole, and stores nothing', async () => {
    const hub = await testHub(tempDir('bulk-bad'));
    try {
      await network(hub.url, ['DC1']);
      const cases: [unknown, number, string][] = [
        [{ orders: [] }, 400, 'invalid_body'],
        [{ order: [order('X-1')] }, 400, 'unknown_field'],
        [{ orders: order('X-2') }, 400, 'invalid_body'],
        [{ orders: Array.from({ length: 1001 }, (_, i) => order(`X-${i}`)) }, 413, 'too_many_orders'],
      ];
      for (const [body, status, code] of cases) {
        const r = await api(hub.url, 'POST', '/api/v1/orders/bulk', body);
        expect([r.status, r.body.error?.code]).toEqual([status, code]);
      }
      expect((await api(hub.url, 'GET', '/api/v1/orders')).body).toEqual([]);
      // an array is taken as the list itself
      const r = await api(hub.url, 'POST', '/api/v1/orders/bulk', [order('X-A'), order('X-B')]);
      expect(r.body.summary.created).toBe(2);
    } finally {
      await hub.stop();
    }
  });

  it('a hub killed during bulk requests, then restarted: every acknowledged order is allocated exactly once', async () => {
    const port = await freePort();
    const dataDir = tempDir('bulk-crash');
    let hub = await spawnHub(dataDir, port);
    const facilities = ['DC1', 'S1', 'S2'];
    await network(hub.url, facilities);
    const orders = Array.from({ length: 600 }, (_, i) => ({
      ...order(`K-${i}`, 1 + (i % 3)),
      lines: [
        { line: 1, sku: 'A', qty: 1 + (i % 3) },
        { line: 2, sku: 'B', qty: 1 },
      ],
    }));
    const acked = new Set<string>();
    // a client sending 100 orders a request and retrying whatever was not acknowledged
    const send = async (list: typeof orders) => {
      for (let tries = 0; tries < 300; tries++) {
        const todo = list.filter((o) => !acked.has(o.id));
        if (!todo.length) return;
        const r = await api(`http://127.0.0.1:${port}`, 'POST', '/api/v1/orders/bulk', { orders: todo }).catch(() => ({ status: 0, body: null }));
        if (r.status === 200) for (const x of r.body.results) if (x.status === 200 || x.status === 201) acked.add(x.id);
        if (r.status !== 200) await new Promise((res) => setTimeout(res, 100));
      }
    };
    const chunks = Array.from({ length: 6 }, (_, i) => orders.slice(i * 100, (i + 1) * 100));
    for (const [i, chunk] of chunks.entries()) {
      const sending = send(chunk);
      if (i === 1 || i === 4) {
        // kill -9 while this request is in flight (or its batch is being allocated)
        await new Promise((res) => setTimeout(res, 5 + i * 3));
        await hub.kill('SIGKILL');
        hub = await spawnHub(dataDir, port);
      }
      await sending;
    }
    expect(acked.size).toBe(orders.length);
    await waitFor(
      'every order allocated',
      async () => {
        for (const status of ['received', 'partially_allocated', 'backordered'])
          if ((await api(hub.url, 'GET', `/api/v1/orders?status=${status}&limit=1`)).body.length) return false;
        return true;
      },
      90_000,
      250,
    );
    await hub.kill('SIGTERM');
    const couch = await openTestCouch(dataDir);
    try {
      const units = new Map<string, number>();
      for (const f of facilities) {
        const rows = (await couch.db<any>(`node_${f.toLowerCase()}`).list({ startkey: 'do:', endkey: 'do:\ufff0', include_docs: true })).rows;
        for (const r of rows)
          for (const l of r.doc.lines) units.set(`${r.doc.orderId}|${l.orderLine}`, (units.get(`${r.doc.orderId}|${l.orderLine}`) ?? 0) + l.qty);
      }
      const wrong = orders.flatMap((o) =>
        o.lines.filter((l) => units.get(`${o.id}|${l.line}`) !== l.qty).map((l) => `${o.id}/${l.line}: ${units.get(`${o.id}|${l.line}`)} of ${l.qty}`),
      );
      expect(wrong).toEqual([]);
      const allocs = (await couch.db<any>('dom').list({ startkey: 'alloc:', endkey: 'alloc:\ufff0', include_docs: true })).rows;
      expect(allocs).toHaveLength(orders.length);
      const stored = (await couch.db<any>('dom').list({ startkey: 'order:', endkey: 'order:\ufff0', include_docs: true })).rows;
      // every alloc finished: its order records its attempt
      expect(stored.filter((r) => r.doc.attempts !== 1).map((r) => r.id)).toEqual([]);
      expect(stored.map((r) => r.doc.status).filter((st) => st !== 'released')).toEqual([]);
      expect(stored).toHaveLength(orders.length);
    } finally {
      await couch.stop();
      await hub.kill('SIGKILL');
    }
  }, 240_000);
});
