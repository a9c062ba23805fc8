/**
 * What-if simulations against a real hub: real orders are allocated live (in several batches),
 * then the window is replayed. The current configuration reproduces every live decision; a
 * candidate with a store disabled sends nothing there and reports the cost difference; nothing in
 * the live databases changes; the same inputs answer the stored run; a candidate is applied (with
 * who and when on the event stream) and rolled back with one call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanupDirs, registerFacility, testHub, waitFor } from '../helpers.js';
import type { Hub } from '../../hub/index.js';
import { solveInstance } from '../../hub/allocator/instance.js';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

/** `dom simulate …` as a process: its exit code and what it printed. */
function dom(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, ['scripts/dom.js', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const ATL = { lat: 33.749, lon: -84.388 };

describe('what-if simulation', () => {
  let hub: Hub;
  let from = '';
  let to = '';
  const ids: string[] = [];
  const post = (path: string, body: unknown) => api(hub.url, 'POST', path, body);
  const order = (id: string, sku: string, qty: number, near = ATL, extra: Record<string, unknown> = {}) => ({
    id,
    channel: 'web',
    priority: 5,
    delivery: 'ship',
    shipTo: near,
    lines: [{ line: 1, sku, qty }],
    ...extra,
  });
  const decided = (id: string) =>
    waitFor(
      `order ${id} decided`,
      async () => {
        const r = await api(hub.url, 'GET', `/api/v1/orders/${id}`);
        return r.status === 200 && r.body.status !== 'received' ? r.body : null;
      },
      30_000,
    );
  const finished = (id: string) =>
    waitFor(
      `simulation ${id} done`,
      async () => {
        const r = await api(hub.url, 'GET', `/api/v1/simulations/${id}`);
        if (r.body.status === 'failed') throw new Error(JSON.stringify(r.body.error));
        return r.body.status === 'done' ? r.body : null;
      },
      60_000,
    );
  /** Document counts and update sequences of dom and every node database. */
  const snapshot = async () => {
    const dbs = ['dom', ...(await hub.ctx.registry.list()).map((n) => n.db)];
    return Object.fromEntries(
      await Promise.all(
        dbs.map(async (db) => {
          const i = await hub.ctx.couch.dbInfo(db);
          return [db, { docs: i.doc_count, deleted: i.doc_del_count, seq: String(i.update_seq) }] as const;
        }),
      ),
    );
  };

  beforeAll(async () => {
    // the allocator lease is renewed every ttl/4: a long ttl keeps `dom` quiet while the test measures it
    hub = await testHub(undefined, { batchWindowMs: 150, leaseTtlMs: 600_000 });
    await registerFacility(hub.url, { id: 'S1', name: 'Midtown', lat: 33.75, lon: -84.39, capacity: 100, pickup: false });
    await registerFacility(hub.url, { id: 'S2', name: 'Decatur', lat: 33.77, lon: -84.3, capacity: 100 });
    await registerFacility(hub.url, { id: 'S3', name: 'Marietta', lat: 33.95, lon: -84.55, capacity: 100 });
    await registerFacility(hub.url, { id: 'DC1', type: 'dc', name: 'Atlanta DC', lat: 33.64, lon: -84.43, capacity: 1000 });
    expect(
      (
        await post('/api/v1/items', [
          { sku: 'TEE', name: 'Tee', substitutes: ['TEE2'] },
          { sku: 'TEE2', name: 'Tee v2', substitutes: [] },
          { sku: 'MUG', name: 'Mug', substitutes: [] },
        ])
      ).status,
    ).toBe(201);
    const stock: Record<string, [string, number][]> = {
      S1: [
        ['TEE', 6],
        ['MUG', 3],
      ],
      S2: [
        ['TEE', 4],
        ['TEE2', 5],
      ],
      S3: [['MUG', 10]],
      DC1: [
        ['TEE', 20],
        ['MUG', 8],
      ],
    };
    for (const [facility, positions] of Object.entries(stock)) {
      expect((await post('/api/v1/inventory', { facility, positions: positions.map(([sku, onHand]) => ({ sku, onHand, safetyStock: 0 })) })).status).toBe(201);
    }
    await new Promise((r) => setTimeout(r, 5)); // the window starts after the counts
    from = new Date().toISOString();
    // three waves: orders posted together share a batch; each wave waits for the one before
    const waves = [
      [order('W1', 'TEE', 2), order('W2', 'MUG', 2), order('W3', 'TEE', 3, { lat: 33.78, lon: -84.31 })],
      [
        order('W4', 'TEE', 4),
        order('W5', 'MUG', 30),
        order('W6', 'TEE', 1, ATL, {
          lines: [
            { line: 1, sku: 'TEE', qty: 1 },
            { line: 2, sku: 'MUG', qty: 1 },
          ],
        }),
      ],
      [
        order('W7', 'TEE', 9, ATL, { lines: [{ line: 1, sku: 'TEE', qty: 9, allowSubstitutes: true }] }),
        order('W8', 'MUG', 3, { lat: 33.95, lon: -84.55 }),
        order('W9', 'TEE', 2),
      ],
    ];
    for (const wave of waves) {
      const res = await Promise.all(wave.map((o) => post('/api/v1/orders', o)));
      for (const r of res) expect(r.status).toBe(201);
      for (const o of wave) {
        ids.push(o.id);
        await decided(o.id);
      }
    }
    to = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 5));
  }, 120_000);

  afterAll(async () => {
    await hub?.stop();
    await cleanupDirs();
  });

  const candidates = [
    { name: 'no S1', facilities: [{ id: 'S1', enabled: false }] },
    { name: 'dear shipments', costs: { perShipment: 25 } },
  ];

  it('replays the window with the current configuration exactly as it was allocated live, and writes nothing to the live databases', async () => {
    // the live path quiet first, so that what it writes is not taken for the simulation's: the
    // allocator's last batch done (a backorder retried when stock moved) and paused, the monitor's
    // checkpoints of the facilities' databases written
    await hub.allocator.drain();
    await hub.allocator.setActive(false);
    await hub.ctx.monitor.pokeAll();
    const before = await snapshot();
    const started = await post('/api/v1/simulations', { window: { from, to }, candidates });
    expect(started.status).toBe(202);
    expect(started.body.id).toMatch(/^[0-9a-f]{24}$/);
    const run = await finished(started.body.id);
    const r = run.result;
    expect(r.orders).toBe(ids.length);
    expect(r.fidelity.differing).toEqual([]);
    expect(r.fidelity).toMatchObject({ checked: ids.length, matching: ids.length });

    // independently of the comparison's own check: the live allocations' units and shipments
    let units = 0;
    const shipments = new Set<string>();
    for (const id of ids) {
      const o = (await api(hub.url, 'GET', `/api/v1/orders/${id}`)).body;
      for (const l of o.lines)
        for (const a of l.allocations) {
          units += a.qty;
          shipments.add(`${id}|${a.facility}`);
        }
    }
    const current = r.configurations.find((c: any) => c.name === 'current');
    expect(current.unitsFilled).toBe(units);
    expect(current.shipments).toBe(shipments.size);
    expect(current.unitsBackordered).toBeGreaterThan(0); // W5 asks for more mugs than there are

    // nothing written to dom or to any node database: counts and sequences as before
    expect(await snapshot()).toEqual(before);
    await hub.allocator.setActive(true);
  }, 90_000);

  it('a candidate with a store disabled sends none of its orders there and reports the cost difference', async () => {
    const again = await post('/api/v1/simulations', { window: { from, to }, candidates });
    expect(again.status).toBe(200); // the same inputs: the stored run
    expect(again.body.reused).toBe(true);
    const r = (await finished(again.body.id)).result;
    const current = r.configurations.find((c: any) => c.name === 'current');
    const noS1 = r.configurations.find((c: any) => c.name === 'no S1');
    expect(current.load.find((l: any) => l.facility === 'S1').units).toBeGreaterThan(0);
    expect(noS1.load.find((l: any) => l.facility === 'S1').units).toBe(0);
    for (const ch of noS1.vsCurrent.changed) for (const p of ch.candidate.picks) expect(p.facility).not.toBe('S1');
    expect(noS1.vsCurrent.changedOrders).toBeGreaterThan(0);
    expect(noS1.vsCurrent.costDelta).toBeCloseTo(noS1.cost - current.cost, 2);
    expect(noS1.vsCurrent.losers[0].facility).toBe('S1');
    // every changed order carries both explanations
    for (const ch of noS1.vsCurrent.changed) {
      expect(ch.current.explanation.strategy).toBeTruthy();
      expect(ch.candidate.explanation.strategy).toBeTruthy();
    }
    const csv = await fetch(`${hub.url}/api/v1/simulations/${again.body.id}?format=csv`, { headers: { authorization: 'Bearer planner-secret-token' } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const rows = (await csv.text()).trim().split('\n');
    expect(rows[0]).toMatch(/^configuration,orders,cost,/);
    expect(rows.map((x) => x.split(',')[0])).toEqual(['configuration', 'current', 'no S1', 'dear shipments']);
  }, 90_000);

  it('dom simulate runs it on the hub and prints the comparison as CSV; a bad file is exit code 2', async () => {
    const file = join(tempDir('sim-cli'), 'candidates.json');
    writeFileSync(file, JSON.stringify([{ name: 'no S2', facilities: [{ id: 'S2', enabled: false }] }]));
    const r = await dom(['simulate', '--hub', hub.url, '--from', from, '--to', to, '--candidates', file, '--format', 'csv'], {
      DOM_PLANNER_TOKEN: 'planner-secret-token',
    });
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows.map((x) => x.split(',')[0])).toEqual(['configuration', 'current', 'no S2']);
    expect(r.stderr).toContain(`${ids.length} of ${ids.length} orders as live`);
    writeFileSync(file, '[{"name":"x","facilities":[{"id":"S2","enabled":"no"}]}]');
    const bad = await dom(['simulate', '--hub', hub.url, '--from', from, '--to', to, '--candidates', file], { DOM_PLANNER_TOKEN: 'planner-secret-token' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('candidates.0.facilities.0.enabled');
  }, 60_000);

  it('refuses bad input with a clear 4xx and starts nothing', async () => {
    const both = await post('/api/v1/simulations', { window: { from, to }, instance: { facilities: [], inventory: [], orders: [] }, candidates });
    expect(both.status).toBe(400);
    const unknown = await post('/api/v1/simulations', { window: { from, to }, candidates: [{ name: 'x', facilities: [{ id: 'NOPE', enabled: false }] }] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('unknown_facility');
    const typo = await post('/api/v1/simulations', { window: { from, to }, candidates: [{ name: 'x', facility: [] }] });
    expect(typo.status).toBe(400);
    expect(typo.body.error.code).toBe('unknown_field');
    const back = await post('/api/v1/simulations', { window: { from: to, to: from }, candidates });
    expect(back.status).toBe(400);
    expect((await api(hub.url, 'GET', '/api/v1/simulations/nope')).status).toBe(404);
    expect((await api(hub.url, 'GET', `/api/v1/simulations/${'0'.repeat(24)}`)).status).toBe(404);
  });

  it('replays an uploaded instance as dom allocate allocates it', async () => {
    const instance = {
      facilities: [
        { id: 'A', type: 'dc', lat: 33.7, lon: -84.4, capacity: 50 },
        { id: 'B', type: 'store', lat: 34.0, lon: -84.1, capacity: 50 },
      ],
      inventory: [
        { facility: 'A', sku: 'X', onHand: 10 },
        { facility: 'B', sku: 'X', onHand: 10 },
      ],
      orders: [
        { id: 'O1', shipTo: { lat: 34.0, lon: -84.1 }, lines: [{ line: 1, sku: 'X', qty: 4 }] },
        { id: 'O2', shipTo: { lat: 33.7, lon: -84.4 }, lines: [{ line: 1, sku: 'X', qty: 12 }] },
      ],
    };
    const r = await post('/api/v1/simulations', { instance, candidates: [{ name: 'B closed', facilities: [{ id: 'B', enabled: false }] }] });
    expect(r.status).toBe(202);
    const res = (await finished(r.body.id)).result;
    const { Instance } = await import('../../shared/instance.js');
    const offline = solveInstance(Instance.parse(instance));
    const current = res.configurations[0];
    expect({ cost: current.cost, unitsFilled: current.unitsFilled, shipments: current.shipments }).toEqual({
      cost: offline.totals.cost,
      unitsFilled: offline.totals.unitsFilled,
      shipments: offline.totals.shipments,
    });
    expect(res.configurations[1].load.find((l: any) => l.facility === 'B').units).toBe(0);
    const apply = await post(`/api/v1/simulations/${r.body.id}/apply`, { candidate: 'B closed', by: 'alice' });
    expect(apply.status).toBe(409);
  });

  it('applies a candidate as the live configuration, recorded with who and when, and rolls it back with one call', async () => {
    const run = await post('/api/v1/simulations', {
      window: { from, to },
      candidates: [{ name: 'no S1 web', facilities: [{ id: 'S1', enabled: false }], sourcing: { web: { maxCandidates: 4 } } }],
    });
    const id = run.body.id;
    await finished(id);
    const sinceEvent = hub.ctx.events.since(0).at(-1)?.id ?? 0;
    expect((await post(`/api/v1/simulations/${id}/apply`, { candidate: 'nope', by: 'alice' })).status).toBe(404);
    expect((await post(`/api/v1/simulations/${id}/apply`, { candidate: 'no S1 web' })).status).toBe(400);
    const applied = await post(`/api/v1/simulations/${id}/apply`, { candidate: 'no S1 web', by: 'alice' });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ version: 1, by: 'alice', source: { simulation: id, candidate: 'no S1 web' } });
    expect((await api(hub.url, 'GET', '/api/v1/facilities/S1')).body.enabled).toBe(false);
    const events = hub.ctx.events.since(sinceEvent);
    const ev = events.find((e) => e.type === 'sourcing');
    expect(ev?.data).toMatchObject({ version: 1, by: 'alice' });
    expect(typeof ev?.data.at).toBe('string');
    expect(events.find((e) => e.type === 'facility')?.data).toMatchObject({ id: 'S1', by: 'alice', changes: { enabled: { from: true, to: false } } });

    // the live allocator now uses it: a web order next to S1 goes elsewhere, under the "web" strategy
    expect((await post('/api/v1/orders', order('AFTER-1', 'TEE', 1))).status).toBe(201);
    const after = await decided('AFTER-1');
    expect(after.lines[0].allocations.map((a: any) => a.facility)).not.toContain('S1');
    expect(after.explanation.strategy).toBe('web');
    // a second apply of the same run is against a stale configuration
    expect((await post(`/api/v1/simulations/${id}/apply`, { candidate: 'no S1 web', by: 'alice' })).status).toBe(409);

    // a candidate adding a facility is simulated, but not applied: the facility must be registered first
    const dc9 = { id: 'DC9', type: 'dc', lat: 33.8, lon: -84.4, capacity: 500, stock: [{ sku: 'TEE', onHand: 50 }] };
    const withDc = await post('/api/v1/simulations', { window: { from, to }, candidates: [{ name: 'new DC', newFacilities: [dc9] }] });
    const dcRun = await finished(withDc.body.id);
    expect(dcRun.result.configurations[1].load.find((l: any) => l.facility === 'DC9').units).toBeGreaterThan(0);
    const refused = await post(`/api/v1/simulations/${withDc.body.id}/apply`, { candidate: 'new DC', by: 'alice' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('cannot_apply_new_facility');
    const listed = await api(hub.url, 'GET', '/api/v1/simulations');
    expect(listed.body.map((x: any) => x.id)).toContain(withDc.body.id);

    const rolled = await post('/api/v1/sourcing/rollback', { by: 'bob' });
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({ version: 2, by: 'bob', source: { rollbackOf: 1 } });
    expect(rolled.body.sourcing).toEqual({});
    expect((await api(hub.url, 'GET', '/api/v1/facilities/S1')).body.enabled).toBe(true);
    expect((await api(hub.url, 'GET', '/api/v1/sourcing')).body.version).toBe(2);
    expect((await post('/api/v1/orders', order('AFTER-2', 'TEE', 1))).status).toBe(201);
    expect((await decided('AFTER-2')).explanation.strategy).toBe('cost');
  }, 90_000);
});
