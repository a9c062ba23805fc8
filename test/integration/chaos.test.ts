/**
 * The fault harness in quick mode (real hub and node processes, TCP proxies that cut, slow and
 * reset the links, kill -9 of the hub and of a node, a full disk), asserting every fault was
 * injected and no invariant was violated; then one focused test for each bug the harness found.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { mkdirSync, openSync, closeSync, writeSync, statfsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { runChaos, formatConsole } from '../../scripts/chaos/index.js';
import {
  api,
  backendFor,
  BACKEND,
  cleanupDirs,
  freePort,
  openTestCouch,
  registerFacility,
  spawnDom,
  stockNode,
  tempDir,
  testHub,
  testNode,
  waitFor,
  ASSOCIATE,
  PLANNER,
} from '../helpers.js';
import { startCouchDb } from '../../scripts/couchdb.js';
import { ids } from '../../shared/ids.js';
import { startHub, type Hub } from '../../hub/index.js';
import { createLogger } from '../../shared/log.js';

afterAll(() => cleanupDirs());

describe('chaos: faults injected while a seeded workload runs, then the invariants', () => {
  it(`injects every kind of fault and finds zero violations (quick, ${BACKEND === 'couchdb' ? 'Apache CouchDB as a process of its own, killed -9 too' : 'embedded server'})`, async () => {
    // on the CouchDB pass the harness runs a CouchDB of its own from ../shared/couchdb, to kill it
    const report = await runChaos({ quick: true, seed: 20260601, log: () => undefined, backend: BACKEND });
    console.log(formatConsole(report));
    for (const [kind, n] of Object.entries(report.faultsPlanned)) expect(report.faults[kind as keyof typeof report.faults], kind).toBe(n);
    expect(report.faults.linkCut).toBeGreaterThanOrEqual(2);
    expect(report.faults.hubKill).toBeGreaterThanOrEqual(1);
    expect(report.faults.nodeKill).toBeGreaterThanOrEqual(1);
    if (BACKEND === 'couchdb') expect(report.faults.couchKill).toBeGreaterThanOrEqual(1);
    // power cuts need LazyFS (root, /dev/fuse, fuse3); where it cannot mount the report says why
    if (report.powerLossSkipped) console.log(`power-loss fault skipped: ${report.powerLossSkipped}`);
    else expect(report.faults.powerLoss).toBeGreaterThanOrEqual(1);
    expect(report.quiesced).toBe(true);
    expect(report.workload.ordersAccepted).toBe(report.orders);
    const mayBeEmpty = new Set(['replenishment_complete', ...(report.powerLossSkipped ? ['acknowledged_kept'] : [])]);
    expect(
      report.invariants.filter((i) => i.checked === 0 && !mayBeEmpty.has(i.name)).map((i) => i.name),
      'every invariant checked something',
    ).toEqual([]);
    expect(report.invariants.filter((i) => i.violations).flatMap((i) => i.examples.map((e) => `${i.name}: ${e}`))).toEqual([]);
    expect(report.violations).toBe(0);
  }, 180_000);
});

describe('dom chaos --soak: its arguments', () => {
  const dom = (...args: string[]) => spawnSync(process.execPath, ['scripts/dom.js', 'chaos', ...args], { encoding: 'utf8', timeout: 60_000 });
  it('refuses a duration it cannot read, one under a minute, a cluster and a bad rate, before starting anything', () => {
    for (const [args, says] of [
      [['--soak', '30x'], '--soak not a duration: "30x"'],
      [['--soak', '20s'], '--soak must be at least 1m'],
      [['--soak', '30m', '--backend', 'cluster'], 'not the cluster'],
      [['--soak', '30m', '--rate', '0'], '--rate must be a number of orders a second'],
    ] as const) {
      const r = dom(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(says);
    }
  });
});

describe('regressions: the bugs the chaos harness found', () => {
  const ATL = { lat: 33.749, lon: -84.388 };
  const get = (hub: Hub, id: string) => api(hub.url, 'GET', `/api/v1/orders/${id}`);
  const until = (hub: Hub, id: string, pred: (o: any) => boolean, what: string) =>
    waitFor(`${id}: ${what}`, async () => {
      const r = await get(hub, id);
      return r.status === 200 && pred(r.body) ? r.body : null;
    });
  const doOf = (o: any, facility?: string) => o.lines.flatMap((l: any) => l.allocations).find((a: any) => !facility || a.facility === facility).doId as string;

  it("keeps a day's shipped units in the facility's used capacity (they used to free it again)", async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    const token = await registerFacility(hub.url, { id: 'C1', capacity: 5 });
    const node = await testNode(hub.url, 'C1', token);
    try {
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'C1', positions: [{ sku: 'A', onHand: 100 }] });
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'CAP-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 5 }] });
      const doId = doOf(await until(hub, 'CAP-1', (o) => o.status === 'released', 'released'));
      await waitFor('the DO at the node', () => node.store.dos.has(doId));
      for (const [step, body] of [
        ['pick', { lines: [{ line: 1, qty: 5 }] }],
        ['pack', {}],
        ['ship', { carrier: 'UPS', tracking: '1' }],
      ] as const)
        await node.store.step(doId, step, body as never);
      await until(hub, 'CAP-1', (o) => o.status === 'shipped', 'shipped');
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'CAP-2', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 1 }] });
      const o = await until(hub, 'CAP-2', (x) => x.status === 'backordered', 'backordered: C1 shipped its 5 units today');
      expect(o.lines[0].allocations).toEqual([]);
    } finally {
      await node.stop();
      await hub.stop();
    }
  });

  it("counts units a DO shipped as reserved until the node's position shows them gone", async () => {
    // a facility whose events reach the hub before its recomputed position does
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    const token = await registerFacility(hub.url, { id: 'R1', capacity: 1000 });
    try {
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'R1', positions: [{ sku: 'A', onHand: 10 }] });
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'RACE-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 4 }] });
      const doId = doOf(await until(hub, 'RACE-1', (o) => o.status === 'released', 'released'));
      const evt = (n: number, status: string, extra: object = {}) => ({
        _id: ids.evt(doId, n),
        type: 'evt',
        doId,
        n,
        status,
        facility: 'R1',
        at: new Date().toISOString(),
        ...extra,
      });
      const up = await api(
        hub.url,
        'POST',
        '/sync/R1/_bulk_docs',
        { docs: [evt(1, 'picked', { lines: [{ line: 1, qty: 4 }] }), evt(2, 'packed'), evt(3, 'shipped', { carrier: 'UPS', tracking: '1' })] },
        token,
      );
      expect(up.status).toBe(201);
      await until(hub, 'RACE-1', (o) => o.status === 'shipped', 'shipped');
      // 6 are on the shelf; the position that says so has not come yet
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'RACE-2', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 8 }] });
      const o = await until(hub, 'RACE-2', (x) => x.status === 'partially_allocated', 'partially allocated');
      expect(o.lines[0].allocations.reduce((s: number, a: any) => s + a.qty, 0)).toBe(6);
      // the position arrives: the shipped units leave the reserve, nothing is counted twice
      const inv = { _id: 'inv:A', type: 'inv', sku: 'A', onHand: 6, reserved: 6, safetyStock: 0, available: 0, updatedAt: new Date().toISOString() };
      expect((await api(hub.url, 'POST', '/sync/R1/_bulk_docs', { docs: [inv] }, token)).status).toBe(201);
      await waitFor("the hub's view", async () => {
        const v = (await api(hub.url, 'GET', '/api/v1/inventory/A')).body.facilities[0];
        return v.onHand === 6 && v.reserved === 6 && v.available === 0;
      });
    } finally {
      await hub.stop();
    }
  });

  it('reads "backordered", not "received", after the only DO of an order found nothing', async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    const node = await testNode(hub.url, 'Z1', await registerFacility(hub.url, { id: 'Z1', capacity: 100 }));
    try {
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'Z1', positions: [{ sku: 'A', onHand: 3 }] });
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'ZERO-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 2 }] });
      const doId = doOf(await until(hub, 'ZERO-1', (o) => o.status === 'released', 'released'));
      await waitFor('the DO at the node', () => node.store.dos.has(doId));
      await node.store.step(doId, 'pick', { lines: [{ line: 1, qty: 0, reason: 'not on the shelf' }] });
      const o = await until(hub, 'ZERO-1', (x) => x.status === 'backordered', 'backordered');
      expect(o.lines[0].unallocated).toBe(2);
      const stored = await hub.ctx.couch.db<any>('dom').get('order:ZERO-1');
      expect(stored.status).toBe('backordered');
    } finally {
      await node.stop();
      await hub.stop();
    }
  });

  it('reads "backordered", not "received", when the roll-up after recording the backorder was lost once', async () => {
    // the quick chaos run under CPU load: "stored status received, its DOs say backordered". The
    // backorder is recorded, then the status rolled up in a second write; when that second write
    // is lost (the hub killed between the two, or its request failing), the retried batch finds
    // the backorder recorded already and must still roll the status up
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    const node = await testNode(hub.url, 'Z2', await registerFacility(hub.url, { id: 'Z2', capacity: 100 }));
    const orders = hub.ctx.orders;
    const refresh = orders.refresh.bind(orders);
    let lost = 0;
    orders.refresh = async (id: string) => {
      const stored = id === 'ZERO-2' ? await hub.ctx.couch.db<any>('dom').get('order:ZERO-2') : null;
      if (stored?.backorderedAt && lost === 0) {
        lost++;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      return refresh(id);
    };
    try {
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'Z2', positions: [{ sku: 'A', onHand: 3 }] });
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'ZERO-2', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 2 }] });
      const doId = doOf(await until(hub, 'ZERO-2', (o) => o.status === 'released', 'released'));
      await waitFor('the DO at the node', () => node.store.dos.has(doId));
      await node.store.step(doId, 'pick', { lines: [{ line: 1, qty: 0, reason: 'not on the shelf' }] });
      await waitFor(
        'the backorder recorded and its roll-up lost',
        async () => lost === 1 && !!(await hub.ctx.couch.db<any>('dom').get('order:ZERO-2')).backorderedAt,
      );
      // the batch is retried (1 s later); stock elsewhere is still none: the status must follow
      const o = await until(hub, 'ZERO-2', (x) => x.status === 'backordered', 'backordered');
      expect(o.lines[0].unallocated).toBe(2);
      expect((await hub.ctx.couch.db<any>('dom').get('order:ZERO-2')).status).toBe('backordered');
    } finally {
      orders.refresh = refresh;
      await node.stop();
      await hub.stop();
    }
  });

  it('reads "backordered", with why, once every facility tried for a line came up short', async () => {
    // one try a line, so that one short pick uses them up
    const giveupDir = tempDir('giveup');
    const hub = await startHub(
      { port: 0, dataDir: giveupDir, plannerToken: PLANNER, sweepMs: 1000, batchWindowMs: 50, ...backendFor(giveupDir) },
      createLogger('hub', 'error'),
      { maxShortsPerLine: 1 },
    );
    const node = await testNode(hub.url, 'Z2', await registerFacility(hub.url, { id: 'Z2', capacity: 100 }));
    try {
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'Z2', positions: [{ sku: 'A', onHand: 3 }] });
      await api(hub.url, 'POST', '/api/v1/orders', { id: 'GIVEUP-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 2 }] });
      const doId = doOf(await until(hub, 'GIVEUP-1', (o) => o.status === 'released', 'released'));
      await waitFor('the DO at the node', () => node.store.dos.has(doId));
      await node.store.step(doId, 'pick', { lines: [{ line: 1, qty: 0, reason: 'not on the shelf' }] });
      const o = await until(hub, 'GIVEUP-1', (x) => x.status === 'backordered', 'backordered');
      expect(o.lines[0].unallocated).toBe(2);
      expect(o.explanation.reason).toBe('resourcing_limit');
      expect((await hub.ctx.couch.db<any>('dom').get('order:GIVEUP-1')).status).toBe('backordered');
    } finally {
      await node.stop();
      await hub.stop();
    }
  });

  it('re-sources, once the allocator is active again, a short pick reported while no instance was allocating', async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    const t1 = await registerFacility(hub.url, { id: 'L1', lat: 33.75, lon: -84.39, capacity: 100 });
    const t2 = await registerFacility(hub.url, { id: 'L2', lat: 34.5, lon: -84.0, capacity: 100 });
    await registerFacility(hub.url, { id: 'L3', lat: 35.5, lon: -83.0, capacity: 100 });
    try {
      await api(hub.url, 'POST', '/api/v1/items', [
        { sku: 'A', name: 'A' },
        { sku: 'B', name: 'B' },
      ]);
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'L1', positions: [{ sku: 'A', onHand: 5 }] });
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'L2', positions: [{ sku: 'B', onHand: 5 }] });
      await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'L3', positions: [{ sku: 'B', onHand: 5 }] });
      await api(hub.url, 'POST', '/api/v1/orders', {
        id: 'GAP-1',
        channel: 'web',
        delivery: 'ship',
        shipTo: ATL,
        lines: [
          { line: 1, sku: 'A', qty: 1 },
          { line: 2, sku: 'B', qty: 1 },
        ],
      });
      const placed = await until(hub, 'GAP-1', (o) => o.status === 'released', 'released');
      const d1 = doOf(placed, 'L1');
      const d2 = doOf(placed, 'L2');
      // the lease passes: this instance stops allocating; meanwhile L1 starts work and L2 finds nothing
      await hub.allocator.setActive(false);
      const evt = (doId: string, facility: string, n: number, status: string, extra: object = {}) => ({
        _id: ids.evt(doId, n),
        type: 'evt',
        doId,
        n,
        status,
        facility,
        at: new Date().toISOString(),
        ...extra,
      });
      expect((await api(hub.url, 'POST', '/sync/L1/_bulk_docs', { docs: [evt(d1, 'L1', 1, 'ack')] }, t1)).status).toBe(201);
      expect(
        (await api(hub.url, 'POST', '/sync/L2/_bulk_docs', { docs: [evt(d2, 'L2', 1, 'short', { lines: [{ line: 1, qty: 0, reason: 'gone' }] })] }, t2)).status,
      ).toBe(201);
      await until(hub, 'GAP-1', (o) => o.status === 'in_fulfilment' && o.lines[1].unallocated === 1, 'in fulfilment with line 2 uncovered');
      await hub.allocator.setActive(true); // what winning the lease runs: recovery
      const o = await until(hub, 'GAP-1', (x) => x.lines[1].allocations.some((a: any) => a.facility === 'L3'), 'line 2 re-sourced at L3');
      expect(o.lines[1].unallocated).toBe(0);
    } finally {
      await hub.stop();
    }
  });

  it('rolls an order up after a restart even when its DO state was stored before the crash', async () => {
    const dataDir = tempDir('rollup');
    let hub = await testHub(dataDir, { batchWindowMs: 50 });
    const token = await registerFacility(hub.url, { id: 'U1', capacity: 100 });
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
    await api(hub.url, 'POST', '/api/v1/inventory', { facility: 'U1', positions: [{ sku: 'A', onHand: 5 }] });
    await api(hub.url, 'POST', '/api/v1/orders', { id: 'ROLL-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 1 }] });
    const doId = doOf(await until(hub, 'ROLL-1', (o) => o.status === 'released', 'released'));
    await hub.stop();
    // what a monitor that died after storing the state and before rolling the order up leaves behind
    const couch = await openTestCouch(dataDir);
    const at = new Date().toISOString();
    await couch.db('node_u1').bulk({
      docs: [1, 2, 3].map((n) => ({
        _id: ids.evt(doId, n),
        type: 'evt',
        doId,
        n,
        status: ['picked', 'packed', 'shipped'][n - 1],
        facility: 'U1',
        at,
        ...(n === 1 ? { lines: [{ line: 1, qty: 1 }] } : {}),
      })),
    });
    const state = await couch.db<any>('dom').get(`dostate:${doId}`);
    await couch.db('dom').insert({
      ...state,
      state: 'shipped',
      lastEvent: 3,
      picked: { 1: 1 },
      history: [1, 2, 3].map((n) => ({ n, status: ['picked', 'packed', 'shipped'][n - 1], at, applied: true })),
      updatedAt: at,
    });
    await couch.stop();
    hub = await testHub(dataDir, { batchWindowMs: 50 });
    try {
      expect(token).toBeTruthy();
      await until(hub, 'ROLL-1', (o) => o.status === 'shipped', 'shipped after the replay');
      expect((await hub.ctx.couch.db<any>('dom').get('order:ROLL-1')).status).toBe('shipped');
    } finally {
      await hub.stop();
    }
  });

  it('finishes at start a replenishment run that died between recording a transfer and issuing it', async () => {
    const dataDir = tempDir('rpl');
    let hub = await testHub(dataDir);
    await registerFacility(hub.url, { id: 'DC9', type: 'dc' });
    await registerFacility(hub.url, { id: 'ST9', servingDc: 'DC9' });
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
    await hub.stop();
    // step 1 of the run's outbox and nothing after it
    const couch = await openTestCouch(dataDir);
    const now = new Date().toISOString();
    const doId = 'RPL-dead-ST9.1.DC9';
    const lines = [{ sku: 'A', qty: 3 }];
    await couch.db('dom').insert({
      _id: `asn:${doId}`,
      type: 'asn',
      id: doId,
      facility: 'ST9',
      from: 'DC9',
      expectedAt: now,
      lines,
      doId,
      createdAt: now,
      pending: true,
      transfer: {
        do: {
          _id: `do:${doId}`,
          type: 'do',
          doId,
          orderId: 'RPL-dead-ST9',
          attempt: 1,
          facility: 'DC9',
          kind: 'transfer',
          lines: [{ line: 1, ...lines[0] }],
          toFacility: 'ST9',
          promiseDate: now,
          createdAt: now,
        },
        inbound: {
          _id: `inbound:${doId}`,
          type: 'inbound',
          inboundId: doId,
          kind: 'transfer',
          facility: 'ST9',
          from: 'DC9',
          expectedAt: now,
          lines,
          createdAt: now,
        },
      },
    } as never);
    await couch.stop();
    hub = await testHub(dataDir);
    try {
      expect((await hub.ctx.couch.db<any>('node_dc9').get(`do:${doId}`)).kind).toBe('transfer');
      expect((await hub.ctx.couch.db<any>('node_st9').get(`inbound:${doId}`)).lines).toEqual(lines);
      expect((await hub.ctx.couch.db<any>('dom').get(`dostate:${doId}`)).state).toBe('released');
      const asn = await hub.ctx.couch.db<any>('dom').get(`asn:${doId}`);
      expect(asn.pending).toBeUndefined();
      expect(asn.transfer).toBeUndefined();
    } finally {
      await hub.stop();
    }
  });

  // safety_stock_respected, "DC1 W-1: DOs took 18, supply less safety stock is 17": the allocator
  // held the units it decided only once its outbox was written (and, after a crash, only once it
  // had the lease again), and a replenishment run planning in between sent the same units to a store.
  const dcWithStore = async (hub: Hub, dc: string, store: string) => {
    await registerFacility(hub.url, { id: dc, type: 'dc', capacity: 100, pickup: false });
    await registerFacility(hub.url, { id: store, servingDc: dc, lat: 34.2, lon: -84.0, capacity: 100 });
    await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
    await api(hub.url, 'POST', '/api/v1/inventory', { facility: dc, positions: [{ sku: 'A', onHand: 10, safetyStock: 1 }] });
    expect((await api(hub.url, 'PUT', '/api/v1/model-stock', [{ facility: store, sku: 'A', min: 5, max: 20 }])).status).toBe(200);
  };

  it('holds the units of an allocation from the moment it is decided, before its outbox is written', async () => {
    const hub = await testHub(undefined, { batchWindowMs: 50 });
    try {
      await dcWithStore(hub, 'H1', 'HS1');
      await hub.allocator.setActive(false); // one batch, run by hand below
      expect(
        (await api(hub.url, 'POST', '/api/v1/orders', { id: 'HOLD-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 6 }] }))
          .status,
      ).toBe(201);
      // what a replenishment run planning while the batch writes to `dom` sees free at the DC
      const seen: number[] = [];
      const onRequest = (m: unknown) => {
        const { request } = m as { request: { method: string; path: string } };
        if (request.method === 'POST' && request.path.startsWith(`${new URL(hub.ctx.couch.dbUrl('dom')).pathname}/_bulk_docs`))
          seen.push(hub.ctx.index.available('H1', 'A'));
      };
      diagnostics.subscribe('undici:request:create', onRequest);
      try {
        await hub.allocator.runBatch(['HOLD-1']);
      } finally {
        diagnostics.unsubscribe('undici:request:create', onRequest);
      }
      expect((await get(hub, 'HOLD-1')).body.lines[0].allocations.map((a: any) => [a.facility, a.qty])).toEqual([['H1', 6]]);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen).toEqual(seen.map(() => 3)); // 10 on hand − 6 decided − 1 safety stock, from the outbox on
      const run = await api(hub.url, 'POST', '/api/v1/replenishment/run', {});
      expect(run.body.transfers.map((t: any) => [t.from, t.to, t.qty])).toEqual([['H1', 'HS1', 3]]);
    } finally {
      await hub.stop();
    }
  });

  it('holds at start the units of an allocation decided before a crash, before the allocator replays it', async () => {
    const dataDir = tempDir('held');
    let hub = await testHub(dataDir, { batchWindowMs: 50 });
    await dcWithStore(hub, 'H2', 'HS2');
    await api(hub.url, 'POST', '/api/v1/orders', { id: 'HELD-1', channel: 'web', delivery: 'ship', shipTo: ATL, lines: [{ line: 1, sku: 'A', qty: 6 }] });
    const doId = doOf(await until(hub, 'HELD-1', (o) => o.status === 'released', 'released'), 'H2');
    await hub.stop();
    // what a hub killed right after step 1 of the outbox leaves: the alloc written, nothing after
    // it; and its allocator lease, not expired yet, so the restarted hub does not replay it at once
    const couch = await openTestCouch(dataDir);
    const dom = couch.db<any>('dom');
    const alloc = await dom.get('alloc:HELD-1:0001');
    await dom.insert({ ...alloc, done: false });
    const state = await dom.get(`dostate:${doId}`);
    await dom.destroy(state._id, state._rev);
    const d = await couch.db<any>('node_h2').get(`do:${doId}`);
    await couch.db('node_h2').destroy(d._id, d._rev);
    const order = await dom.get('order:HELD-1');
    await dom.insert({ ...order, attempts: 0, allocations: [], explanations: [], status: 'received' });
    const lease = await dom.get('lease:allocator');
    await dom.insert({ ...lease, holder: 'a-killed-hub', epoch: lease.epoch + 1, expiresAt: Date.now() + 120_000 });
    await couch.stop();
    hub = await testHub(dataDir, { batchWindowMs: 50 });
    try {
      expect(hub.allocator.isActive).toBe(false);
      const dc = (await api(hub.url, 'GET', '/api/v1/inventory/A')).body.facilities.find((f: any) => f.facility === 'H2');
      expect([dc.onHand, dc.reserved, dc.available]).toEqual([10, 6, 3]);
      const run = await api(hub.url, 'POST', '/api/v1/replenishment/run', {});
      expect(run.body.transfers.map((t: any) => [t.from, t.to, t.qty])).toEqual([['H2', 'HS2', 3]]);
      // the allocator gets the lease back and issues the DO it had decided: 9 units at most leave H2
      await hub.allocator.setActive(true);
      await waitFor('the replayed DO at H2', () =>
        hub.ctx.couch
          .db('node_h2')
          .get(`do:${doId}`)
          .then(
            () => true,
            () => false,
          ),
      );
      const dos = (await hub.ctx.couch.db<any>('node_h2').list({ include_docs: true })).rows.map((r) => r.doc).filter((x) => x?.type === 'do');
      expect(dos.flatMap((x: any) => x.lines).reduce((s: number, l: any) => s + l.qty, 0)).toBe(9);
    } finally {
      await hub.stop();
    }
  });

  it('refuses at the gateway what the embedded CouchDB mishandles: a prototype key, an empty _bulk_get', async () => {
    const hub = await testHub();
    const token = await registerFacility(hub.url, { id: 'G1' });
    try {
      for (const q of ['__proto__=', 'constructor=1', 'toString=x', 'hasOwnProperty=1'])
        expect((await api(hub.url, 'GET', `/sync/G1/_changes?${q}`, undefined, token)).status, q).toBe(400);
      const t0 = Date.now();
      for (const docs of [[null], [{}], [{ id: 1 }], 'x'])
        expect((await api(hub.url, 'POST', '/sync/G1/_bulk_get', { docs }, token)).status, JSON.stringify(docs)).toBe(400);
      // an empty one (CouchDB's replicator asks it to learn that _bulk_get is served): answered by the gateway itself
      expect(await api(hub.url, 'POST', '/sync/G1/_bulk_get', { docs: [] }, token)).toEqual({ status: 200, body: { results: [] } });
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect((await api(hub.url, 'POST', '/sync/G1/_revs_diff', { a: 1 }, token)).status).toBe(400);
      expect((await api(hub.url, 'POST', '/sync/G1/_all_docs', { keys: [1] }, token)).status).toBe(400);
      expect((await api(hub.url, 'POST', '/sync/G1/_bulk_get', { docs: [{ id: 'a' }] }, token)).status).toBe(200);
    } finally {
      await hub.stop();
    }
  });

  it('answers 503 storage_unavailable, never 500, while its CouchDB is down, and carries on once it is back', async () => {
    // a CouchDB of its own to kill: Apache CouchDB on the CouchDB pass, `dom couch` on the embedded one
    const dir = tempDir('couch-outage');
    let couchUrl: string;
    let kill: () => Promise<void>;
    let restart: () => Promise<void>;
    let stopCouch: () => Promise<void>;
    if (BACKEND === 'couchdb') {
      const couch = await startCouchDb({ dir });
      couchUrl = couch.url;
      kill = () => couch.kill9();
      restart = () => couch.restart();
      stopCouch = () => couch.stop();
    } else {
      const port = await freePort();
      const env = { COUCH_USER: 'admin', COUCH_PASSWORD: 'outage-secret' };
      const start = () => spawnDom(['couch', '--port', String(port), '--data', join(dir, 'couch')], 'couch_ready', env);
      let proc = await start();
      couchUrl = `http://admin:outage-secret@127.0.0.1:${port}`;
      kill = () => proc.kill('SIGKILL');
      restart = async () => void (proc = await start());
      stopCouch = () => proc.kill('SIGTERM');
    }
    const hub = await testHub(join(dir, 'hub'), { couchUrl, dbPrefix: undefined });
    try {
      const nodeToken = await registerFacility(hub.url, { id: 'OUT1', type: 'dc', pickup: false });
      await api(hub.url, 'POST', '/api/v1/items', [{ sku: 'A', name: 'A' }]);
      const po = (id: string) =>
        api(hub.url, 'POST', '/api/v1/purchase-orders', {
          id,
          facility: 'OUT1',
          supplier: 'ACME',
          expectedAt: new Date(Date.now() + 86_400_000).toISOString(),
          lines: [{ sku: 'A', qty: 5 }],
        });
      expect((await po('PO-BEFORE')).status).toBe(201);
      await kill();
      const down = await po('PO-DOWN');
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('storage_unavailable');
      expect((await api(hub.url, 'GET', '/readyz')).status).toBe(503);
      // the sync gateway answers in CouchDB's shape ({"error": string, "reason"}): PouchDB takes
      // `error` for the error's name, and an object there crashed every node's replicator
      const sync = await api(hub.url, 'GET', '/sync/OUT1/_changes?since=0', undefined, nodeToken);
      expect(sync.status).toBe(503);
      expect(typeof sync.body.error).toBe('string');
      expect(typeof sync.body.reason).toBe('string');
      await restart();
      // the same call, retried, goes through once CouchDB answers again
      await waitFor('the retried call accepted', async () => (await po('PO-DOWN')).status === 201, 30_000, 200);
      expect((await api(hub.url, 'GET', '/api/v1/purchase-orders')).body.map((p: any) => p.id).sort()).toEqual(['PO-BEFORE', 'PO-DOWN']);
      await waitFor('ready again', async () => (await api(hub.url, 'GET', '/readyz')).status === 200, 30_000);
    } finally {
      await hub.stop();
      await stopCouch();
    }
  }, 120_000);

  it('gives node tokens no leading "-", which `dom node --token` would read as an option', async () => {
    const { newToken } = await import('../../hub/registry.js');
    for (let i = 0; i < 2000; i++) expect(newToken()).toMatch(/^[0-9a-f]{64}$/);
  });

  // A real full disk needs root and a tmpfs; elsewhere the quick chaos run simulates it.
  const canMount = process.platform === 'linux' && process.getuid?.() === 0;
  it.skipIf(!canMount)(
    "loses no acknowledged write when the node's disk fills up: writes answer 503, the database is reopened, all is there after a restart",
    async () => {
      const hub = await testHub(undefined, { batchWindowMs: 50 });
      const token = await registerFacility(hub.url, { id: 'D1' });
      const dir = join(tempDir('fulldisk'), 'mnt');
      mkdirSync(dir, { recursive: true });
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]);
      } catch {
        await hub.stop();
        return; // mount refused here (no CAP_SYS_ADMIN): nothing to test
      }
      let node = await testNode(hub.url, 'D1', token, dir);
      const sale = (qty: number) => api(node.url, 'POST', '/api/v1/sales', { sku: 'A', qty }, ASSOCIATE);
      const acked: string[] = [];
      try {
        await stockNode(hub.url, node, 'D1', 'A', 0);
        for (let i = 0; i < 5; i++) acked.push((await sale(1)).body.sale._id);
        // fill the disk
        const ballast = join(dir, 'ballast');
        const fd = openSync(ballast, 'a');
        try {
          for (;;) {
            const s = statfsSync(dir);
            if (s.bavail * s.bsize <= 0) break;
            writeSync(fd, Buffer.alloc(1024 * 1024), 0, Math.min(1024 * 1024, s.bavail * s.bsize));
          }
        } catch {
          /* ENOSPC */
        } finally {
          closeSync(fd);
        }
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) {
          const r = await sale(1);
          statuses.push(r.status);
          if (r.status === 201) acked.push(r.body.sale._id);
        }
        expect(statuses.some((s) => s === 503)).toBe(true);
        expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
        unlinkSync(ballast);
        // the node reopens its database and takes writes again
        await waitFor(
          'writes accepted again',
          async () => {
            const r = await sale(1);
            if (r.status === 201) acked.push(r.body.sale._id);
            return r.status === 201;
          },
          30_000,
          300,
        );
        for (let i = 0; i < 5; i++) acked.push((await sale(1)).body.sale._id);
        await node.stop();
        node = await testNode(hub.url, 'D1', token, dir);
        const have = new Set((await node.db.allDocs({ startkey: 'sale:', endkey: 'sale:\ufff0' })).rows.map((r) => r.id));
        expect(acked.filter((id) => !have.has(id))).toEqual([]);
        expect((await api(node.url, 'GET', '/api/v1/inventory', undefined, ASSOCIATE)).body[0].onHand).toBe(-acked.length);
      } finally {
        await node.stop();
        await hub.stop();
        execFileSync('umount', ['-l', dir]);
      }
    },
    90_000,
  );
});
