import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fairShare, planReplenishment, type StoreNeedInput } from '../../hub/planning/replenish.js';

const store = (id: string, onHand: number, daily: number, extra: Partial<StoreNeedInput> = {}): StoreNeedInput => ({
  store: id,
  dc: 'DC',
  sku: 'A',
  onHand,
  inTransit: 0,
  onOrder: 0,
  committed: 0,
  min: 10,
  max: 40,
  daily,
  ...extra,
});

describe('replenishment', () => {
  it('gives every store its need when the DC can cover it', () => {
    const p = planReplenishment({ stores: [store('S1', 5, 2), store('S2', 0, 1)], dcAvailable: () => 1000, dcModelStock: [] });
    expect(p.transfers).toEqual([
      { from: 'DC', to: 'S1', sku: 'A', qty: 35 },
      { from: 'DC', to: 'S2', sku: 'A', qty: 40 },
    ]);
    expect(p.fairShare).toEqual([]);
  });

  it('splits a constrained DC by equal days of supply (DS = (A + ΣI)/ΣD)', () => {
    // I = 5, 0, 10 (≤ min 10), D = 2, 1, 3, A = 30 → DS = 45/6 = 7.5 → Aj = 10, 7.5, 12.5
    const p = planReplenishment({ stores: [store('S1', 5, 2), store('S2', 0, 1), store('S3', 10, 3)], dcAvailable: () => 30, dcModelStock: [] });
    const q = Object.fromEntries(p.transfers.map((t) => [t.to, t.qty]));
    expect(q.S1 + q.S2 + q.S3).toBe(30);
    expect(q.S1).toBe(10);
    expect([7, 8]).toContain(q.S2);
    expect([12, 13]).toContain(q.S3);
    expect(p.fairShare[0]!.daysOfSupply).toBeCloseTo(7.5);
  });

  it('counts in-transit and on-order units against need', () => {
    const p = planReplenishment({
      stores: [store('S1', 2, 1, { inTransit: 5, onOrder: 3 }), store('S2', 2, 1, { inTransit: 30 })],
      dcAvailable: () => 100,
      dcModelStock: [],
    });
    expect(p.transfers).toEqual([{ from: 'DC', to: 'S1', sku: 'A', qty: 30 }]);
  });

  it('suggests a purchase when the DC falls below its own model stock', () => {
    const p = planReplenishment({
      stores: [store('S1', 0, 1)],
      dcAvailable: () => 25,
      dcModelStock: [{ dc: 'DC', sku: 'A', min: 50, max: 200, onHand: 25, onOrder: 0, committed: 0 }],
    });
    expect(p.purchaseSuggestions[0]).toMatchObject({ facility: 'DC', sku: 'A' });
    expect(p.purchaseSuggestions[0]!.qty).toBe(200 - (25 - 25 - 15));
  });

  it('fair share never over-allocates, never exceeds a need, and leaves nothing at the DC that a store needs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.array(fc.record({ position: fc.integer({ min: -5, max: 20 }), daily: fc.integer({ min: 0, max: 9 }), need: fc.integer({ min: 0, max: 60 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        (A, rows) => {
          const stores = rows.map((r, i) => ({ id: `S${i}`, ...r }));
          const out = fairShare(A, stores);
          const total = [...out.values()].reduce((s, q) => s + q, 0);
          const need = stores.reduce((s, x) => s + x.need, 0);
          expect(total).toBe(Math.min(A, need));
          for (const s of stores) {
            expect(out.get(s.id)!).toBeGreaterThanOrEqual(0);
            expect(out.get(s.id)!).toBeLessThanOrEqual(s.need);
            expect(Number.isInteger(out.get(s.id)!)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
