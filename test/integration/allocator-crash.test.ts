import { afterAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, freePort, openTestCouch, registerFacility, spawnHub, tempDir, testHub, waitFor } from '../helpers.js';

describe('allocation is an outbox: kill -9 in the middle of a stream of orders', () => {
  afterAll(() => cleanupDirs());

  it('allocates every order exactly once: no DO twice, none missing', async () => {
    const port = await freePort();
    const dataDir = tempDir('crash');
    let hub = await spawnHub(dataDir, port);
    const facilities = ['DC1', 'S1', 'S2', 'S3'];
    for (const [i, id] of facilities.entries()) {
      await registerFacility(hub.url, { id, type: i === 0 ? 'dc' : 'store', lat: 33.7 + i * 0.1, lon: -84.4 + i * 0.05, capacity: 100_000 });
    }
    await api(
      hub.url,
      'POST',
      '/api/v1/items',
      ['A', 'B', 'C'].map((sku) => ({ sku, name: sku })),
    );
    for (const facility of facilities) {
      await api(hub.url, 'POST', '/api/v1/inventory', { facility, positions: ['A', 'B', 'C'].map((sku) => ({ sku, onHand: 10_000 })) });
    }
    const orders = Array.from({ length: 240 }, (_, i) => ({
      id: `K-${i}`,
      channel: 'web',
      delivery: 'ship',
      shipTo: { lat: 33.5 + (i % 10) * 0.1, lon: -84.5 + (i % 7) * 0.1 },
      lines: [
        { line: 1, sku: 'A', qty: 1 + (i % 3) },
        { line: 2, sku: ['B', 'C'][i % 2], qty: 1 },
      ],
    }));
    // a client that retries until each order is accepted, as a web shop does
    const accepted = new Set<string>();
    const postAll = async (list: typeof orders, onEach?: (i: number) => Promise<void>) => {
      for (const [i, o] of list.entries()) {
        await onEach?.(i);
        for (let tries = 0; tries < 200 && !accepted.has(o.id); tries++) {
          const r = await api(`http://127.0.0.1:${port}`, 'POST', '/api/v1/orders', o).catch(() => ({ status: 0 }));
          if (r.status === 201 || r.status === 200) accepted.add(o.id);
          else await new Promise((res) => setTimeout(res, 100));
        }
      }
    };
    await postAll(orders, async (i) => {
      if (i === 80 || i === 170) {
        await hub.kill('SIGKILL'); // mid-stream, with batches in flight
        hub = await spawnHub(dataDir, port);
      }
    });
    expect(accepted.size).toBe(orders.length);
    await waitFor(
      'every order allocated',
      async () => {
        const r = await api(hub.url, 'GET', '/api/v1/orders?limit=500');
        return r.body.length === orders.length && r.body.every((o: any) => o.status === 'released');
      },
      60_000,
      250,
    );
    await hub.kill('SIGTERM');

    const couch = await openTestCouch(dataDir);
    try {
      const units = new Map<string, number>();
      const doIds: string[] = [];
      for (const f of facilities) {
        const rows = (await couch.db<any>(`node_${f.toLowerCase()}`).list({ startkey: 'do:', endkey: 'do:\ufff0', include_docs: true })).rows;
        for (const r of rows) {
          doIds.push(r.id);
          for (const l of r.doc.lines) units.set(`${r.doc.orderId}|${l.orderLine}`, (units.get(`${r.doc.orderId}|${l.orderLine}`) ?? 0) + l.qty);
        }
      }
      expect(new Set(doIds).size).toBe(doIds.length);
      const wrong = orders.flatMap((o) =>
        o.lines.filter((l) => units.get(`${o.id}|${l.line}`) !== l.qty).map((l) => `${o.id}/${l.line}: ${units.get(`${o.id}|${l.line}`)} of ${l.qty}`),
      );
      expect(wrong).toEqual([]);
      const allocs = (await couch.db<any>('dom').list({ startkey: 'alloc:', endkey: 'alloc:\ufff0', include_docs: true })).rows;
      // every alloc finished: its order records its attempt
      const attempts = new Map(
        (await couch.db<any>('dom').list({ startkey: 'order:', endkey: 'order:\ufff0', include_docs: true })).rows.map((r) => [r.doc.id, r.doc.attempts]),
      );
      expect(allocs.filter((a) => (attempts.get(a.doc.orderId) ?? 0) < a.doc.attempt).map((a) => a.id)).toEqual([]);
      expect(allocs).toHaveLength(orders.length); // one allocation attempt per order: nothing allocated twice
    } finally {
      await couch.stop();
      await hub.kill('SIGKILL');
    }
  }, 180_000);

  it('rolls a replayed allocation up to what its DO has done meanwhile (shipped before the order was updated)', async () => {
    const dataDir = tempDir('replay-shipped');
    let hub = await testHub(dataDir, { batchWindowMs: 60_000 });
    await registerFacility(hub.url, { id: 'S1', capacity: 100 });
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
    await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'S1', positions: [{ sku: 'A', onHand: 10 }] });
    const o = { id: 'R-2', channel: 'web', delivery: 'ship', shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'A', qty: 2 }] };
    expect((await api(hub.url, 'POST', '/api/v1/orders', o)).status).toBe(201);
    // the DO went out and the store shipped it, and the monitor stored that, all before the
    // allocator updated the order (it died first): the order has no allocation yet
    const doId = 'R-2.1.S1';
    const at = new Date().toISOString();
    const lines = [{ line: 1, orderLine: 1, sku: 'A', qty: 2 }];
    const d = { _id: `do:${doId}`, type: 'do', doId, orderId: 'R-2', attempt: 1, facility: 'S1', kind: 'ship', lines, shipTo: o.shipTo, createdAt: at };
    const dom = hub.ctx.couch.db('dom');
    await dom.insert({
      _id: 'alloc:R-2:0001',
      type: 'alloc',
      orderId: 'R-2',
      attempt: 1,
      dos: [d],
      allocations: [{ attempt: 1, doId, facility: 'S1', kind: 'ship', lines }],
      explanation: {},
      unfilled: [],
      done: false,
      createdAt: at,
    } as never);
    await hub.ctx.couch.ensureDb('node_s1');
    await hub.ctx.couch.db('node_s1').insert(d as never);
    const steps = ['picked', 'packed', 'shipped'];
    await dom.insert({
      _id: `dostate:${doId}`,
      type: 'dostate',
      doId,
      orderId: 'R-2',
      attempt: 1,
      facility: 'S1',
      kind: 'ship',
      lines,
      state: 'shipped',
      lastEvent: 3,
      picked: { 1: 2 },
      history: steps.map((status, i) => ({ n: i + 1, status, at, applied: true })),
      createdAt: at,
      updatedAt: at,
    } as never);
    await hub.stop();
    hub = await testHub(dataDir, { batchWindowMs: 50 });
    try {
      const order = await waitFor(
        'the replayed order rolled up',
        async () => {
          const r = await api(hub.url, 'GET', '/api/v1/orders/R-2');
          return r.body.lines?.[0]?.allocations?.length ? r.body : null;
        },
        60_000,
      );
      expect(order.status).toBe('shipped');
      expect((await hub.ctx.couch.db<any>('dom').get('order:R-2')).status).toBe('shipped');
    } finally {
      await hub.stop();
    }
  }, 150_000);

  it('replays an allocation whose DOs were never written (a crash after step 1 of the outbox)', async () => {
    const dataDir = tempDir('replay');
    let hub = await testHub(dataDir, { batchWindowMs: 60_000 });
    await registerFacility(hub.url, { id: 'S1', capacity: 100 });
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
    await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'S1', positions: [{ sku: 'A', onHand: 10 }] });
    const o = { id: 'R-1', channel: 'web', delivery: 'ship', shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'A', qty: 2 }] };
    expect((await api(hub.url, 'POST', '/api/v1/orders', o)).status).toBe(201);
    // what step 1 writes, and nothing after it: the process "died" here
    const doId = 'R-1.1.S1';
    const d = {
      _id: `do:${doId}`,
      type: 'do',
      doId,
      orderId: 'R-1',
      attempt: 1,
      facility: 'S1',
      kind: 'ship',
      lines: [{ line: 1, orderLine: 1, sku: 'A', qty: 2 }],
      shipTo: o.shipTo,
      createdAt: new Date().toISOString(),
    };
    await hub.ctx.couch.db('dom').insert({
      _id: 'alloc:R-1:0001',
      type: 'alloc',
      orderId: 'R-1',
      attempt: 1,
      dos: [d],
      allocations: [{ attempt: 1, doId, facility: 'S1', kind: 'ship', lines: d.lines }],
      explanation: {},
      unfilled: [],
      done: false,
      createdAt: d.createdAt,
    } as never);
    await hub.stop();
    hub = await testHub(dataDir, { batchWindowMs: 50 });
    try {
      const order = await waitFor(
        'order released by the replay',
        async () => {
          const r = await api(hub.url, 'GET', '/api/v1/orders/R-1');
          return r.body.status === 'released' ? r.body : null;
        },
        60_000,
      );
      expect(order.lines[0].allocations).toEqual([{ facility: 'S1', sku: 'A', qty: 2, doId, doStatus: 'released' }]);
      expect((await hub.ctx.couch.db<any>('node_s1').get(`do:${doId}`)).orderId).toBe('R-1');
      // finished: the order records the alloc's attempt (step 3)
      expect((await hub.ctx.couch.db<any>('dom').get('order:R-1')).attempts).toBe(1);
      // the replayed order was not allocated a second time when its queued batch ran
      await waitFor('the queued batch run', () => hub.allocator.idle);
      const allocs = await hub.ctx.couch.db('dom').list({ startkey: 'alloc:R-1:', endkey: 'alloc:R-1:\ufff0' });
      expect(allocs.rows).toHaveLength(1);
    } finally {
      await hub.stop();
    }
  }, 150_000);

  it('finishes a decision whose DOs went out when its order update failed, though the units it holds leave nothing to decide again', async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    const orders = hub.ctx.orders;
    const updateMany = orders.updateMany.bind(orders);
    let failed = 0;
    // CouchDB gone between step 2 (the DO states and DOs written) and step 3 (the order), once
    orders.updateMany = ((ids: string[], ...rest: never[]) => {
      if (ids.includes('R-10') && failed++ === 0) return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return (updateMany as (...a: unknown[]) => Promise<unknown>)(ids, ...rest);
    }) as typeof orders.updateMany;
    try {
      await registerFacility(hub.url, { id: 'S1', capacity: 100 });
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      // exactly the order's units: once its DOs hold them, a new decision finds none
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'S1', positions: [{ sku: 'A', onHand: 2 }] });
      const o = { id: 'R-10', channel: 'web', delivery: 'ship', shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'A', qty: 2 }] };
      expect((await api(hub.url, 'POST', '/api/v1/orders', o)).status).toBe(201);
      // the retried batch (1 s later) finishes the stored decision instead of backordering the order
      const order = await waitFor(
        'R-10 released by its first decision',
        async () => {
          const r = await api(hub.url, 'GET', '/api/v1/orders/R-10');
          return r.body.status === 'released' ? r.body : r.body.status === 'backordered' ? { backordered: true } : null;
        },
        30_000,
      );
      expect(failed).toBeGreaterThan(0);
      expect(order.backordered).toBeUndefined();
      expect(order.lines[0].allocations).toEqual([{ facility: 'S1', sku: 'A', qty: 2, doId: 'R-10.1.S1', doStatus: 'released' }]);
      expect((await hub.ctx.couch.db<any>('dom').get('order:R-10')).attempts).toBe(1);
      expect((await hub.ctx.couch.db<any>('node_s1').get('do:R-10.1.S1')).orderId).toBe('R-10');
    } finally {
      orders.updateMany = updateMany;
      await hub.stop();
    }
  }, 60_000);

  it('finishes, without a restart, an allocation stored by a batch whose CouchDB died after step 1 (the retry finds it)', async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    try {
      await registerFacility(hub.url, { id: 'S1', capacity: 100 });
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'S1', positions: [{ sku: 'A', onHand: 10 }] });
      await hub.allocator.setActive(false); // the batch is run by hand below
      const o = { id: 'R-9', channel: 'web', delivery: 'ship', shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'A', qty: 2 }] };
      expect((await api(hub.url, 'POST', '/api/v1/orders', o)).status).toBe(201);
      // what the first try stored before CouchDB went away (its answer lost, so the batch failed)
      const doId = 'R-9.1.S1';
      const d = {
        _id: `do:${doId}`,
        type: 'do',
        doId,
        orderId: 'R-9',
        attempt: 1,
        facility: 'S1',
        kind: 'ship',
        lines: [{ line: 1, orderLine: 1, sku: 'A', qty: 2 }],
        shipTo: o.shipTo,
        createdAt: new Date().toISOString(),
      };
      await hub.ctx.couch.db('dom').insert({
        _id: 'alloc:R-9:0001',
        type: 'alloc',
        orderId: 'R-9',
        attempt: 1,
        dos: [d],
        allocations: [{ attempt: 1, doId, facility: 'S1', kind: 'ship', lines: d.lines }],
        explanation: {},
        unfilled: [],
        done: false,
        createdAt: d.createdAt,
      } as never);
      // the retry: it decides attempt 1 again, finds it stored, and finishes the stored one
      await hub.allocator.runBatch(['R-9']);
      const order = (await api(hub.url, 'GET', '/api/v1/orders/R-9')).body;
      expect(order.status).toBe('released');
      expect(order.lines[0].allocations).toEqual([{ facility: 'S1', sku: 'A', qty: 2, doId, doStatus: 'released' }]);
      expect((await hub.ctx.couch.db<any>('node_s1').get(`do:${doId}`)).orderId).toBe('R-9');
      expect((await hub.ctx.couch.db<any>('dom').get('order:R-9')).attempts).toBe(1);
    } finally {
      await hub.stop();
    }
  }, 60_000);
});
