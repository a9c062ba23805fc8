/** Which facilities an availability check reports, and what a checkout reservation holds, without I/O. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FacilityGrid, topFacilities } from '../../hub/inventory/atp.js';
import { distanceKm } from '../../shared/geo.js';
import type { FacilityDoc } from '../../shared/schemas.js';
import { planHolds } from '../../hub/inventory/holds.js';

const free = new Map([
  ['F1', 5],
  ['F2', 50],
  ['F3', 20],
  ['F4', 20],
]);

describe('the facilities a check reports', () => {
  it('without a place: the most units first, ties by id, at most `limit`', () => {
    expect(topFacilities(free, 3, null)).toEqual([
      { facility: 'F2', available: 50, km: null },
      { facility: 'F3', available: 20, km: null },
      { facility: 'F4', available: 20, km: null },
    ]);
  });

  it('with a place: the nearest first, ties by more units', () => {
    const km: Record<string, number> = { F1: 3, F2: 40, F3: 12.5, F4: 3 };
    expect(topFacilities(free, 2, (f) => km[f]!).map((o) => [o.facility, o.km])).toEqual([
      ['F4', 3],
      ['F1', 3],
    ]);
    expect(topFacilities(free, 10, (f) => km[f]!).map((o) => o.facility)).toEqual(['F4', 'F1', 'F3', 'F2']);
  });

  it('none when no facility has the SKU', () => {
    expect(topFacilities(new Map(), 5, null)).toEqual([]);
  });
});

describe('the nearest facilities, found through the grid of places', () => {
  // a network within a continent (the search does not wrap around the antimeridian)
  const place = fc.record({ lat: fc.double({ min: 15, max: 70, noNaN: true }), lon: fc.double({ min: -170, max: -50, noNaN: true }) });
  const network = fc.array(fc.record({ at: place, units: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 120 });

  it('are the k nearest that have units, as measuring every facility finds them', () => {
    fc.assert(
      fc.property(network, place, fc.integer({ min: 1, max: 12 }), (facs, at, k) => {
        const docs = new Map<string, FacilityDoc>(facs.map((f, i) => [`F${i}`, { id: `F${i}`, ...f.at } as FacilityDoc]));
        const free = new Map<string, number>(facs.flatMap((f, i) => (f.units > 0 ? [[`F${i}`, f.units] as const] : [])));
        const grid = new FacilityGrid(() => docs);
        const found = grid.nearest(
          at,
          k,
          (id) => free.has(id),
          (id) => free.get(id) ?? 0,
        );
        // every facility measured: the k nearest (to the 0.1 km a check reports; at equal distances either may be the one)
        const want = [...free.keys()]
          .map((id) => distanceKm(docs.get(id)!, at))
          .sort((a, b) => a - b)
          .slice(0, k);
        const got = found.map((f) => distanceKm(docs.get(f.facility)!, at)).sort((a, b) => a - b);
        expect(got).toHaveLength(want.length);
        got.forEach((km, i) => expect(km).toBeCloseTo(want[i]!, 1));
        expect(found.map((f) => f.available)).toEqual(found.map((f) => free.get(f.facility)));
        for (let i = 1; i < found.length; i++) expect(found[i - 1]!.km!).toBeLessThanOrEqual(found[i]!.km!);
      }),
      { numRuns: 300 },
    );
  });

  it('sees a facility added to the catalogue', () => {
    const docs = new Map([['A', { id: 'A', lat: 40, lon: -100 } as FacilityDoc]]);
    const grid = new FacilityGrid(() => docs);
    const near = () =>
      grid
        .nearest(
          { lat: 41, lon: -101 },
          2,
          () => true,
          () => 1,
        )
        .map((f) => f.facility);
    expect(near()).toEqual(['A']);
    docs.set('B', { id: 'B', lat: 41, lon: -101 } as FacilityDoc);
    expect(near()).toEqual(['B', 'A']);
  });
});

describe('what a reservation holds', () => {
  const offers = [
    [
      { facility: 'F1', available: 3, km: 1 },
      { facility: 'F2', available: 10, km: 5 },
    ],
    [{ facility: 'F2', available: 1, km: 5 }],
  ];
  const lines = [
    { sku: 'A', qty: 5 },
    { sku: 'B', qty: 4 },
  ];
  const stock: Record<string, number> = { 'F1|A': 3, 'F2|A': 10, 'F2|B': 1 };
  const available = (f: string, sku: string) => stock[`${f}|${sku}`] ?? 0;

  it('the whole cart at the one facility that has it all now', () => {
    const single = { facility: 'F9', km: 2, date: 'now' };
    expect(planHolds(lines, offers, single, undefined, available)).toEqual([
      { sku: 'A', qty: 5, holds: [{ facility: 'F9', qty: 5 }] },
      { sku: 'B', qty: 4, holds: [{ facility: 'F9', qty: 4 }] },
    ]);
  });

  it('else per line from its facilities in turn, nearest first; a line short of units is held in part', () => {
    // a single facility only later (a supply coming) holds nothing there
    const later = { facility: 'F2', km: 5, date: '2026-03-01T00:00:00.000Z' };
    expect(planHolds(lines, offers, later, undefined, available)).toEqual([
      {
        sku: 'A',
        qty: 5,
        holds: [
          { facility: 'F1', qty: 3 },
          { facility: 'F2', qty: 2 },
        ],
      },
      { sku: 'B', qty: 4, holds: [{ facility: 'F2', qty: 1 }] },
    ]);
  });

  it('with a pickup store, from that store only; a facility with no units (or fewer than none) holds nothing', () => {
    expect(planHolds(lines, offers, null, 'F2', available).map((l) => l.holds)).toEqual([[{ facility: 'F2', qty: 5 }], [{ facility: 'F2', qty: 1 }]]);
    const oversold = (f: string, sku: string) => (f === 'F1' ? -2 : available(f, sku));
    expect(planHolds([lines[0]!], [offers[0]!], null, undefined, oversold)[0]!.holds).toEqual([{ facility: 'F2', qty: 5 }]);
  });
});
