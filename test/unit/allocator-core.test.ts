import { describe, expect, it } from 'vitest';
import { Instance } from '../../shared/instance.js';
import { nearestFacilityGreedy, solveInstance } from '../../hub/allocator/instance.js';

const base = {
  costs: { perShipment: 6, perKm: 0.004, perUnit: { dc: 0.5, store: 1.5 } },
  items: [{ sku: 'A', substitutes: ['A2'] }],
};
const atl = { lat: 33.75, lon: -84.39 };
const order = (id: string, priority: number, lines: { line: number; sku: string; qty: number; allowSubstitutes?: boolean }[], extra: object = {}) => ({
  id, priority, createdAt: `2026-01-01T00:00:0${priority}Z`, shipTo: atl, delivery: 'ship', lines, ...extra,
});

describe('allocator core', () => {
  it('gives constrained units to higher-ranked orders first: no priority inversion', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [{ id: 'DC1', type: 'dc', ...atl, capacity: 100 }],
      inventory: [{ facility: 'DC1', sku: 'A', onHand: 5 }],
      orders: [order('LOW', 5, [{ line: 1, sku: 'A', qty: 4 }]), order('HIGH', 1, [{ line: 1, sku: 'A', qty: 3 }]), order('MID', 3, [{ line: 1, sku: 'A', qty: 3 }])],
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
      inventory: [{ facility: 'DC1', sku: 'A', onHand: 2 }, { facility: 'DC1', sku: 'A2', onHand: 10 }],
      orders: [order('O1', 1, [{ line: 1, sku: 'A', qty: 2, allowSubstitutes: true }]), order('O2', 2, [{ line: 1, sku: 'A', qty: 3, allowSubstitutes: true }]), order('O3', 3, [{ line: 1, sku: 'A', qty: 1 }])],
    });
    const r = solveInstance(inst);
    expect(r.assignments.filter((a) => a.order === 'O1')).toEqual([{ order: 'O1', line: 1, facility: 'DC1', sku: 'A', qty: 2 }]);
    expect(r.assignments.filter((a) => a.order === 'O2')).toEqual([{ order: 'O2', line: 1, facility: 'DC1', sku: 'A2', qty: 3 }]);
    expect(r.unfilled).toEqual([{ order: 'O3', line: 1, qty: 1 }]); // no substitutes allowed
  });

  it('never exceeds capacity or touches safety stock', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [{ id: 'S1', type: 'store', ...atl, capacity: 3 }, { id: 'DC1', type: 'dc', lat: 35, lon: -85, capacity: 2 }],
      inventory: [{ facility: 'S1', sku: 'A', onHand: 10, safetyStock: 8 }, { facility: 'DC1', sku: 'A', onHand: 10 }],
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
      inventory: [{ facility: 'S1', sku: 'A', onHand: 5 }, { facility: 'S2', sku: 'B', onHand: 5 }, { facility: 'DC1', sku: 'A', onHand: 5 }, { facility: 'DC1', sku: 'B', onHand: 5 }],
      orders: [order('O1', 1, [{ line: 1, sku: 'A', qty: 1 }, { line: 2, sku: 'B', qty: 1 }])],
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
      facilities: [{ id: 'S1', type: 'store', ...atl, pickup: true }, { id: 'DC1', type: 'dc', lat: 34, lon: -84 }],
      inventory: [{ facility: 'S1', sku: 'A', onHand: 1 }, { facility: 'DC1', sku: 'A', onHand: 10 }],
      orders: [order('P1', 1, [{ line: 1, sku: 'A', qty: 1 }], { delivery: 'pickup', pickupFacility: 'S1', shipTo: undefined }), order('P2', 2, [{ line: 1, sku: 'A', qty: 2 }], { delivery: 'pickup', pickupFacility: 'S1', shipTo: undefined })],
    });
    const r = solveInstance(inst);
    expect(r.assignments.find((a) => a.order === 'P1')!.facility).toBe('S1');
    expect(r.assignments.find((a) => a.order === 'P2')!.facility).toBe('DC1');
  });

  it('explains the candidates and the chosen cost', () => {
    const inst = Instance.parse({
      ...base,
      facilities: [{ id: 'S1', type: 'store', ...atl, shipFromStore: false }, { id: 'DC1', type: 'dc', lat: 34, lon: -84 }],
      inventory: [{ facility: 'S1', sku: 'A', onHand: 5 }, { facility: 'DC1', sku: 'A', onHand: 5 }],
      orders: [order('O1', 1, [{ line: 1, sku: 'A', qty: 1 }])],
    });
    const r = solveInstance(inst, { explain: true });
    const ex = r.plans[0]!.explanation;
    expect(ex.candidates.find((c) => c.facility === 'S1')!.excluded).toMatch(/does not ship/);
    expect(ex.chosen[0]!.facility).toBe('DC1');
    expect(ex.chosen[0]!.cost).toBeCloseTo(r.totals.cost, 1);
  });
});
