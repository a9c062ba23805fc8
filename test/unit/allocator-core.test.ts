import { describe, expect, it } from 'vitest';
import { Instance } from '../../shared/instance.js';
import { nearestFacilityGreedy, networkOf, ordersOf, resultOf, solveInstance, substitutesOf } from '../../hub/allocator/instance.js';
import { Network, allocateBatch, allocateOrder, release } from '../../hub/allocator/core.js';
import { compareRank, costStrategy } from '../../hub/allocator/strategy.js';
import { effortFor } from '../../hub/allocator/service.js';
import { distanceKm } from '../../shared/geo.js';
import { generateInstance } from '../../scripts/bench/instances.js';

const base = {
  costs: { perShipment: 6, perKm: 0.004, perUnit: { dc: 0.5, store: 1.5 } },
  items: [{ sku: 'A', substitutes: ['A2'] }],
};
const atl = { lat: 33.75, lon: -84.39 };
const order = (id: string, priority: number, lines: { line: number; sku: string; qty: number; allowSubstitutes?: boolean }[], extra: object = {}) => ({
  id,
  priority,
  createdAt: `2026-01-01T00:00:0${priority}Z`,
  shipTo: atl,
  delivery: 'ship',
  lines,
  ...extra,
});

describe('allocator core', () => {
  it('gives constrained units to higher-ranked orders first: no priority inversion', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [{ id: 'DC1', type: 'dc', ...atl, capacity: 100 }],
      inventory: [{ facility: 'DC1', sku: 'A', onHand: 5 }],
      orders: [
        order('LOW', 5, [{ line: 1, sku: 'A', qty: 4 }]),
        order('HIGH', 1, [{ line: 1, sku: 'A', qty: 3 }]),
        order('MID', 3, [{ line: 1, sku: 'A', qty: 3 }]),
      ],
    });
    const r = solveInstance(inst);
    const got = (o: string) => r.assignments.filter((a) => a.order === o).reduce((s, a) => s + a.qty, 0);
    expect(got('HIGH')).toBe(3);
    expect(got('MID')).toBe(2);
    expect(got('LOW')).toBe(0);
    expect(r.totals.unitsUnfilled).toBe(5);
  });

  it('uses a substitute only when the ordered SKU cannot be filled', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [{ id: 'DC1', type: 'dc', ...atl }],
      inventory: [
        { facility: 'DC1', sku: 'A', onHand: 2 },
        { facility: 'DC1', sku: 'A2', onHand: 10 },
      ],
      orders: [
        order('O1', 1, [{ line: 1, sku: 'A', qty: 2, allowSubstitutes: true }]),
        order('O2', 2, [{ line: 1, sku: 'A', qty: 3, allowSubstitutes: true }]),
        order('O3', 3, [{ line: 1, sku: 'A', qty: 1 }]),
      ],
    });
    const r = solveInstance(inst);
    expect(r.assignments.filter((a) => a.order === 'O1')).toEqual([{ order: 'O1', line: 1, facility: 'DC1', sku: 'A', qty: 2 }]);
    expect(r.assignments.filter((a) => a.order === 'O2')).toEqual([{ order: 'O2', line: 1, facility: 'DC1', sku: 'A2', qty: 3 }]);
    expect(r.unfilled).toEqual([{ order: 'O3', line: 1, qty: 1 }]); // no substitutes allowed
  });

  it('never exceeds capacity or touches safety stock', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [
        { id: 'S1', type: 'store', ...atl, capacity: 3 },
        { id: 'DC1', type: 'dc', lat: 35, lon: -85, capacity: 2 },
      ],
      inventory: [
        { facility: 'S1', sku: 'A', onHand: 10, safetyStock: 8 },
        { facility: 'DC1', sku: 'A', onHand: 10 },
      ],
      orders: [1, 2, 3].map((i) => order(`O${i}`, i, [{ line: 1, sku: 'A', qty: 2 }])),
    });
    const r = solveInstance(inst);
    const at = (f: string) => r.assignments.filter((a) => a.facility === f).reduce((s, a) => s + a.qty, 0);
    expect(at('S1')).toBe(2); // 10 on hand − 8 safety
    expect(at('DC1')).toBe(2); // capacity 2
    expect(r.totals.unitsFilled).toBe(4);
  });

  it('prefers one shipment from a farther facility over a split between near ones', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [
        { id: 'S1', type: 'store', lat: 33.76, lon: -84.39 },
        { id: 'S2', type: 'store', lat: 33.77, lon: -84.39 },
        { id: 'DC1', type: 'dc', lat: 34.5, lon: -84.39 },
      ],
      inventory: [
        { facility: 'S1', sku: 'A', onHand: 5 },
        { facility: 'S2', sku: 'B', onHand: 5 },
        { facility: 'DC1', sku: 'A', onHand: 5 },
        { facility: 'DC1', sku: 'B', onHand: 5 },
      ],
      orders: [
        order('O1', 1, [
          { line: 1, sku: 'A', qty: 1 },
          { line: 2, sku: 'B', qty: 1 },
        ]),
      ],
    });
    const r = solveInstance(inst);
    expect(new Set(r.assignments.map((a) => a.facility))).toEqual(new Set(['DC1']));
    expect(r.totals.shipments).toBe(1);
    const nearest = nearestFacilityGreedy(inst);
    expect(nearest.totals.shipments).toBe(2);
    expect(r.totals.cost).toBeLessThan(nearest.totals.cost);
  });

  it('fills a pickup order at its store, or by a transfer to it', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [
        { id: 'S1', type: 'store', ...atl, pickup: true },
        { id: 'DC1', type: 'dc', lat: 34, lon: -84 },
      ],
      inventory: [
        { facility: 'S1', sku: 'A', onHand: 1 },
        { facility: 'DC1', sku: 'A', onHand: 10 },
      ],
      orders: [
        order('P1', 1, [{ line: 1, sku: 'A', qty: 1 }], { delivery: 'pickup', pickupFacility: 'S1', shipTo: undefined }),
        order('P2', 2, [{ line: 1, sku: 'A', qty: 2 }], { delivery: 'pickup', pickupFacility: 'S1', shipTo: undefined }),
      ],
    });
    const r = solveInstance(inst);
    expect(r.assignments.find((a) => a.order === 'P1')!.facility).toBe('S1');
    expect(r.assignments.find((a) => a.order === 'P2')!.facility).toBe('DC1');
  });

  it('explains the candidates and the chosen cost', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [
        { id: 'S1', type: 'store', ...atl, shipFromStore: false },
        { id: 'DC1', type: 'dc', lat: 34, lon: -84 },
      ],
      inventory: [
        { facility: 'S1', sku: 'A', onHand: 5 },
        { facility: 'DC1', sku: 'A', onHand: 5 },
      ],
      orders: [order('O1', 1, [{ line: 1, sku: 'A', qty: 1 }])],
    });
    const r = solveInstance(inst, { explain: true });
    const ex = r.plans[0]!.explanation;
    expect(ex.candidates.find((c) => c.facility === 'S1')!.excluded).toMatch(/does not ship/);
    expect(ex.chosen[0]!.facility).toBe('DC1');
    expect(ex.chosen[0]!.cost).toBeCloseTo(r.totals.cost, 1);
  });
});

/** The network after a batch holds exactly what its assignments did not take: stock above safety stock, and capacity. */
function expectNetworkHolds(inst: Instance, net: Network, assignments: { facility: string; sku: string; qty: number }[]) {
  const used = new Map<string, number>();
  const usedCap = new Map<string, number>();
  for (const x of assignments) {
    used.set(`${x.facility}|${x.sku}`, (used.get(`${x.facility}|${x.sku}`) ?? 0) + x.qty);
    usedCap.set(x.facility, (usedCap.get(x.facility) ?? 0) + x.qty);
  }
  for (const p of inst.inventory)
    expect(net.available(net.indexOf(p.facility)!, p.sku)).toBe(Math.max(0, p.onHand - p.safetyStock) - (used.get(`${p.facility}|${p.sku}`) ?? 0));
  for (const f of inst.facilities) expect(net.capacity[net.indexOf(f.id)!]).toBe(f.capacity - (usedCap.get(f.id) ?? 0));
}

describe('allocator core: search and batch improvement', () => {
  const seeded = (seed: number) => () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;

  it('finds the same nearest facilities as a scan, on the grid and off it, with filters and a distance limit', () => {
    const r = seeded(9);
    for (const n of [40, 1200]) {
      const facilities = Array.from({ length: n }, (_, i) => ({
        id: `F${i}`,
        type: 'store' as const,
        lat: -60 + r() * 130,
        lon: -180 + r() * 360,
        capacity: 1,
        priority: 0,
        shipFromStore: true,
        pickup: false,
      }));
      const net = new Network(facilities);
      for (let q = 0; q < 300; q++) {
        const p = q % 2 ? { lat: 25 + r() * 25, lon: -125 + r() * 60 } : { lat: -85 + r() * 170, lon: -180 + r() * 360 };
        const k = 1 + Math.floor(r() * 20);
        const maxKm = r() < 0.3 ? r() * 3000 : 25_000;
        const ok = (fi: number) => fi % 4 !== 1;
        const want = facilities
          .map((f, i) => [i, distanceKm(f, p)] as const)
          .filter(([i, d]) => ok(i) && d <= maxKm)
          .sort((a, b) => a[1] - b[1])
          .slice(0, k)
          .map(([, d]) => d);
        const got = net.nearest(p, k, maxKm, ok).map((i) => distanceKm(facilities[i]!, p));
        expect(got.length).toBe(want.length);
        got.forEach((d, j) => expect(d).toBeCloseTo(want[j]!, 6));
      }
    }
  });

  it('reaches past the nearest facilities for a unit only a far one holds', () => {
    const near = Array.from({ length: 20 }, (_, i) => ({ id: `S${i}`, type: 'store', lat: 33.75 + i * 0.01, lon: -84.39 }));
    const inst = Instance.parse({
      ...base,
      facilities: [...near, { id: 'FAR', type: 'store', lat: 47.6, lon: -122.3 }],
      inventory: [...near.map((f) => ({ facility: f.id, sku: 'A', onHand: 5 })), { facility: 'FAR', sku: 'RARE', onHand: 1 }],
      orders: [
        order('O1', 1, [
          { line: 1, sku: 'A', qty: 1 },
          { line: 2, sku: 'RARE', qty: 1 },
        ]),
      ],
    });
    const r = solveInstance(inst, { maxCandidates: 8 });
    expect(r.totals.unitsUnfilled).toBe(0);
    expect(r.assignments.find((a) => a.sku === 'RARE')!.facility).toBe('FAR');
    expect(r.plans[0]!.explanation.candidates.some((c) => c.facility === 'FAR')).toBe(false); // explained only when explain is on
    const explained = solveInstance(inst, { maxCandidates: 8, explain: true });
    expect(explained.plans[0]!.explanation.candidates.find((c) => c.facility === 'FAR')!.units).toBe(1);
  });

  it('considers the nearest DCs however many stores are nearer', () => {
    const stores = Array.from({ length: 30 }, (_, i) => ({ id: `S${i}`, type: 'store', lat: 33.75 + i * 0.005, lon: -84.39 }));
    const inst = Instance.parse({
      ...base,
      facilities: [...stores, { id: 'DC1', type: 'dc', lat: 35.1, lon: -85.3 }],
      // each store holds one of the four SKUs; the DC holds all four
      inventory: [
        ...stores.map((f, i) => ({ facility: f.id, sku: 'ABCD'[i % 4]!, onHand: 5 })),
        ...['A', 'B', 'C', 'D'].map((sku) => ({ facility: 'DC1', sku, onHand: 5 })),
      ],
      orders: [
        order(
          'O1',
          1,
          ['A', 'B', 'C', 'D'].map((sku, i) => ({ line: i + 1, sku, qty: 1 })),
        ),
      ],
    });
    const r = solveInstance(inst);
    expect(r.totals.shipments).toBe(1);
    expect(r.assignments.every((a) => a.facility === 'DC1')).toBe(true);
  });

  it('improves a batch without taking fill, or an ordered SKU, from any order, and within stock and capacity', () => {
    const inst = generateInstance({ orders: 300, facilities: 40, skus: 60, seed: 5 });
    const s = costStrategy(inst.costs);
    const run = (improveRounds: number) => {
      const net = networkOf(inst);
      const plans = allocateBatch(net, ordersOf(inst), () => s, substitutesOf(inst), { improveRounds });
      return { plans, result: resultOf(inst, plans) };
    };
    const single = run(0);
    const batch = run(1);
    expect(batch.result.totals.cost).toBeLessThan(single.result.totals.cost);
    const by = (plans: typeof single.plans) => new Map(plans.map((p) => [p.order, p]));
    const a = by(single.plans);
    for (const p of batch.plans) {
      const q = a.get(p.order)!;
      const filled = (x: typeof p) => x.picks.reduce((t, y) => t + y.qty, 0);
      const primary = (x: typeof p) => x.picks.filter((y) => !y.substitute).reduce((t, y) => t + y.qty, 0);
      expect(filled(p)).toBeGreaterThanOrEqual(filled(q));
      expect(primary(p)).toBeGreaterThanOrEqual(primary(q));
    }
    // never beyond capacity or available stock (safety stock excluded)
    const used = new Map<string, number>();
    const perSku = new Map<string, number>();
    for (const x of batch.result.assignments) {
      used.set(x.facility, (used.get(x.facility) ?? 0) + x.qty);
      perSku.set(`${x.facility}|${x.sku}`, (perSku.get(`${x.facility}|${x.sku}`) ?? 0) + x.qty);
    }
    for (const f of inst.facilities) expect(used.get(f.id) ?? 0).toBeLessThanOrEqual(f.capacity);
    for (const p of inst.inventory) expect(perSku.get(`${p.facility}|${p.sku}`) ?? 0).toBeLessThanOrEqual(p.onHand - p.safetyStock);
    // the plans' own costs add up to the contract's cost
    expect(batch.plans.reduce((t, p) => t + p.cost, 0)).toBeCloseTo(batch.result.totals.cost, 0);
  });

  it('steers the rank-order pass with prices on scarce capacity and stock: cheaper, as much fill, each order served in rank order', () => {
    const inst = generateInstance({ orders: 400, facilities: 60, skus: 80, seed: 3 });
    const s = costStrategy(inst.costs);
    const run = (priceRounds: number) => {
      const net = networkOf(inst);
      const plans = allocateBatch(net, ordersOf(inst), () => s, substitutesOf(inst), { improveRounds: 0, priceRounds });
      return { plans, net, result: resultOf(inst, plans) };
    };
    const plain = run(0);
    const priced = run(4);
    const primary = (r: typeof plain) => r.plans.reduce((t, p) => t + p.picks.filter((x) => !x.substitute).reduce((u, x) => u + x.qty, 0), 0);
    expect(priced.result.totals.cost).toBeLessThan(plain.result.totals.cost);
    expect(priced.result.totals.unitsFilled).toBeGreaterThanOrEqual(plain.result.totals.unitsFilled);
    expect(primary(priced)).toBeGreaterThanOrEqual(primary(plain));
    // the network holds what the kept pass took, no more (no prices left behind), within stock and capacity
    expect(priced.net.prices).toBeNull();
    expectNetworkHolds(inst, priced.net, priced.result.assignments);
    // no inversion: replaying the kept plans in rank order, an order left short of a SKU left none of it behind at a
    // facility it ships from and that had capacity left (so no lower-ranked order took a unit it could have used there)
    const ranked = ordersOf(inst).sort(compareRank);
    const byOrder = new Map(priced.plans.map((p) => [p.order, p]));
    const replay = networkOf(inst);
    let shortChecked = 0;
    for (const o of ranked) {
      const p = byOrder.get(o.id)!;
      for (const x of p.picks) replay.take(replay.indexOf(x.facility)!, x.sku, x.qty);
      for (const u of p.unfilled) {
        const sku = o.lines.find((l) => l.line === u.line)!.sku;
        for (const x of p.picks) {
          const fi = replay.indexOf(x.facility)!;
          if (replay.capacity[fi]! > 0) expect(replay.available(fi, sku)).toBeLessThanOrEqual(0);
          shortChecked++;
        }
      }
    }
    expect(shortChecked).toBeGreaterThan(0);
  });

  it('moves units of a SKU that ran out to where their orders already ship from: cheaper, no order filled less, stock and capacity exact', () => {
    const inst = generateInstance({ orders: 300, facilities: 40, skus: 60, seed: 5 });
    const s = costStrategy(inst.costs);
    const run = (improveRounds: number, stockMoves: boolean) => {
      const net = networkOf(inst);
      const plans = allocateBatch(net, ordersOf(inst), () => s, substitutesOf(inst), { improveRounds, priceRounds: 0, stockMoves });
      return { plans, net, result: resultOf(inst, plans) };
    };
    const single = run(0, false);
    const without = run(3, false);
    const moved = run(3, true);
    expect(moved.result.totals.cost).toBeLessThan(without.result.totals.cost);
    const filled = (p: (typeof single.plans)[number], sku?: boolean) => p.picks.filter((x) => !sku || !x.substitute).reduce((t, x) => t + x.qty, 0);
    const before = new Map(single.plans.map((p) => [p.order, p]));
    for (const p of moved.plans) {
      expect(filled(p)).toBeGreaterThanOrEqual(filled(before.get(p.order)!));
      expect(filled(p, true)).toBeGreaterThanOrEqual(filled(before.get(p.order)!, true));
      // a plan's cost is the contract's (docs/CONTRACT.md): a shipment per facility it uses, handling per unit
      const facilities = new Set(p.picks.map((x) => x.facility));
      expect(p.shipments).toBe(facilities.size);
    }
    expect(moved.plans.reduce((t, p) => t + p.cost, 0)).toBeCloseTo(moved.result.totals.cost, 0);
    expectNetworkHolds(inst, moved.net, moved.result.assignments);
  });

  it("keeps every unit within the strategy's distance limit, through all the batch's moves", () => {
    const inst = generateInstance({ orders: 300, facilities: 40, skus: 60, seed: 5 });
    const s = costStrategy(inst.costs, { maxDistanceKm: 600 });
    const plans = allocateBatch(networkOf(inst), ordersOf(inst), () => s, substitutesOf(inst));
    const at = new Map(inst.facilities.map((f) => [f.id, f]));
    let units = 0;
    for (const p of plans) {
      const o = inst.orders.find((x) => x.id === p.order)!;
      const to = o.delivery === 'pickup' ? at.get(o.pickupFacility!)! : o.shipTo!;
      for (const x of p.picks) {
        expect(distanceKm(at.get(x.facility)!, to)).toBeLessThanOrEqual(600);
        units += x.qty;
      }
    }
    expect(units).toBeGreaterThan(0);
  });

  it('optimises a batch less when orders wait behind it, so that optimising never builds a backlog', () => {
    expect(effortFor(0, 500)).toEqual({});
    expect(effortFor(499, 500)).toEqual({});
    expect(effortFor(500, 500)).toEqual({ improveRounds: 1 });
    expect(effortFor(1000, 500)).toEqual({ improveRounds: 0 });
  });

  it('releases exactly what it took, on the network it planned against and through facility ids on a copy', () => {
    const inst = generateInstance({ orders: 50, facilities: 300, skus: 40, seed: 2 });
    const s = costStrategy(inst.costs);
    const net = networkOf(inst);
    const copy = net.clone();
    const before = Array.from(net.capacity);
    const plans = ordersOf(inst).map((o) => allocateOrder(net, o, s, substitutesOf(inst)));
    expect(Array.from(copy.capacity)).toEqual(before); // the copy did not move
    for (const p of plans) release(net, p);
    expect(Array.from(net.capacity)).toEqual(before);
    for (const p of plans) {
      for (const x of p.picks) copy.take(copy.indexOf(x.facility)!, x.sku, x.qty);
      release(copy, p);
    }
    expect(Array.from(copy.capacity)).toEqual(before);
  });
});
