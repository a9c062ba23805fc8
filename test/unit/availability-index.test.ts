import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AvailabilityIndex } from '../../hub/inventory/index.js';

const FACILITIES = ['F1', 'F2', 'F3'];
const SKUS = ['A', 'B'];
const STATES = ['released', 'acknowledged', 'picked', 'short_picked', 'packed', 'shipped', 'rejected', 'cancelled'] as const;

const op = fc.oneof(
  fc.record({
    kind: fc.constant('positions' as const),
    facility: fc.constantFrom(...FACILITIES),
    sku: fc.constantFrom(...SKUS),
    onHand: fc.integer({ min: -3, max: 20 }),
    reserved: fc.integer({ min: 0, max: 6 }),
    safety: fc.integer({ min: 0, max: 3 }),
    t: fc.integer({ min: 0, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('count' as const),
    facility: fc.constantFrom(...FACILITIES),
    sku: fc.constantFrom(...SKUS),
    onHand: fc.integer({ min: 0, max: 20 }),
    safety: fc.integer({ min: 0, max: 3 }),
    t: fc.integer({ min: 0, max: 50 }),
  }),
  fc.record({
    kind: fc.constant('do' as const),
    n: fc.integer({ min: 0, max: 4 }),
    facility: fc.constantFrom(...FACILITIES),
    sku: fc.constantFrom(...SKUS),
    qty: fc.integer({ min: 1, max: 5 }),
    state: fc.constantFrom(...STATES),
    ev: fc.integer({ min: 0, max: 5 }),
    t: fc.integer({ min: 0, max: 50 }),
  }),
  fc.record({ kind: fc.constant('forget' as const), n: fc.integer({ min: 0, max: 4 }) }),
  fc.record({
    kind: fc.constant('checkout' as const),
    facility: fc.constantFrom(...FACILITIES),
    sku: fc.constantFrom(...SKUS),
    delta: fc.integer({ min: -4, max: 4 }),
  }),
);

const at = (t: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString();

describe('availability index: per-SKU facilities and totals kept current', () => {
  it('answers, after any sequence of changes, what a recount of every facility gives, and tells each rise in availability', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const index = new AvailabilityIndex();
        const held = new Map<string, number>();
        const told = new Set<string>();
        index.onMoreAvailable((f, skus) => skus.forEach((sku) => told.add(`${f}|${sku}`)));
        const snapshot = () => new Map(FACILITIES.flatMap((f) => SKUS.map((sku) => [`${f}|${sku}`, index.available(f, sku)] as const)));
        for (const o of ops) {
          const before = snapshot();
          told.clear();
          if (o.kind === 'positions')
            index.applyNodePositions(o.facility, [
              {
                _id: `inv:${o.sku}`,
                type: 'inv',
                sku: o.sku,
                onHand: o.onHand,
                reserved: o.reserved,
                safetyStock: o.safety,
                available: Math.max(0, o.onHand - o.reserved - o.safety),
                updatedAt: at(o.t),
              },
            ]);
          else if (o.kind === 'count')
            index.applyCount({ facility: o.facility, positions: [{ sku: o.sku, onHand: o.onHand, safetyStock: o.safety }], createdAt: at(o.t) });
          else if (o.kind === 'do') {
            const doId = `D${o.n}`;
            index.applyDoState({
              doId,
              facility: o.facility,
              lines: [{ line: 1, orderLine: 1, sku: o.sku, qty: o.qty }],
              state: o.state,
              createdAt: at(0),
              updatedAt: at(o.t),
              lastEvent: o.ev,
              history: o.state === 'shipped' ? [{ n: o.ev, status: 'shipped', at: at(o.t), applied: true }] : [],
            } as never);
          } else if (o.kind === 'forget') index.forget(`D${o.n}`);
          else {
            // never give back more than is held, as the reservations module does
            const k = `${o.facility}|${o.sku}`;
            const d = Math.max(-(held.get(k) ?? 0), o.delta);
            held.set(k, (held.get(k) ?? 0) + d);
            if (d) index.holdForCheckout(o.facility, o.sku, d);
          }
          // every rise is told (a backorder waiting for it is retried); a fall or no change is not,
          // unless a DO gave capacity back (the DO kinds)
          const rose = [...snapshot()].filter(([k, a]) => a > before.get(k)!).map(([k]) => k);
          for (const k of rose) expect(told).toContain(k);
          if (o.kind !== 'do' && o.kind !== 'forget') expect([...told].sort()).toEqual(rose.sort());
          for (const sku of SKUS) {
            const recount = new Map(FACILITIES.map((f) => [f, index.available(f, sku)] as const).filter(([, a]) => a > 0));
            expect(new Map(index.availableAt(sku))).toEqual(recount);
            expect(index.totalAvailable(sku)).toBe([...recount.values()].reduce((s, a) => s + a, 0));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("tells every SKU available at a facility when a DO there gives its capacity back, and nothing at a DO's release", () => {
    const index = new AvailabilityIndex();
    index.applyCount({
      facility: 'F1',
      positions: [
        { sku: 'A', onHand: 0, safetyStock: 0 },
        { sku: 'B', onHand: 5, safetyStock: 0 },
        { sku: 'C', onHand: 0, safetyStock: 0 },
      ],
      createdAt: at(1),
    });
    const told: string[][] = [];
    index.onMoreAvailable((f, skus) => told.push(skus.map((sku) => `${f}|${sku}`).sort()));
    const dox = (state: (typeof STATES)[number], ev: number) =>
      index.applyDoState({
        doId: 'D1',
        facility: 'F1',
        lines: [{ line: 1, orderLine: 1, sku: 'A', qty: 2 }],
        state,
        createdAt: at(0),
        updatedAt: at(2),
        lastEvent: ev,
      } as never);
    // released: it takes A (none available anyway) and F1's capacity; no rise
    dox('released', 0);
    expect(told).toEqual([]);
    // rejected: the capacity it held is F1's again; a backorder of B, available there, may have waited for it
    dox('rejected', 1);
    expect(told).toEqual([['F1|B']]);
  });

  it('keeps nothing of a DO once it is finished and its day is over; an open one stays, with its hold', () => {
    const index = new AvailabilityIndex();
    index.applyCount({ facility: 'F1', positions: [{ sku: 'A', onHand: 10, safetyStock: 0 }], createdAt: '2026-12-01T08:00:00.000Z' });
    const dox = (doId: string, state: (typeof STATES)[number], ev: number, day: string) =>
      index.applyDoState({
        doId,
        facility: 'F1',
        lines: [{ line: 1, orderLine: 1, sku: 'A', qty: 2 }],
        state,
        createdAt: `${day}T09:00:00.000Z`,
        updatedAt: `${day}T10:00:00.000Z`,
        lastEvent: ev,
      } as never);
    for (let i = 0; i < 50; i++) {
      dox(`OLD-${i}`, 'released', 0, '2026-12-01');
      dox(`OLD-${i}`, 'rejected', 1, '2026-12-01');
    }
    dox('OPEN', 'released', 0, '2026-12-01');
    dox('TODAY', 'released', 0, '2026-12-02');
    dox('TODAY', 'cancelled', 1, '2026-12-02');
    expect(index.trackedDos).toBe(52);
    // the allocator asks for today's use of capacity: yesterday's finished DOs go
    expect(index.unitsReleasedOn('2026-12-02')).toEqual(new Map([['F1', 0]]));
    expect(index.trackedDos).toBe(2);
    // the open one still holds its units, and an older copy of it still cannot undo a newer one
    expect(index.available('F1', 'A')).toBe(8);
    dox('OPEN', 'shipped', 3, '2026-12-01');
    dox('OPEN', 'released', 1, '2026-12-01');
    expect(index.reserved('F1', 'A')).toBe(2);
  });
});
