import { describe, expect, it } from 'vitest';
import { FacilityIndex } from '../../hub/allocator/facility-index.js';
import { ArcSelection } from '../../hub/allocator/arc-selection.js';
import type { SourcingFacility } from '../../hub/allocator/strategy.js';
import { distanceKm } from '../../shared/geo.js';

const seeded = (seed: number) => () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;

function facilitiesOf(n: number, r: () => number): SourcingFacility[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `F${i}`,
    type: r() < 0.1 ? ('dc' as const) : ('store' as const),
    lat: 20 + r() * 35,
    lon: -130 + r() * 65,
    capacity: 1,
    priority: 0,
    shipFromStore: true,
    pickup: false,
  }));
}

/** The k nearest of `among` (each once) that pass ok within maxKm, by a scan: their distances. */
function scan(fs: SourcingFacility[], among: number[], p: { lat: number; lon: number }, k: number, maxKm: number, ok: (fi: number) => boolean): number[] {
  return [...new Set(among)]
    .filter((i) => ok(i) && distanceKm(fs[i]!, p) <= maxKm)
    .map((i) => distanceKm(fs[i]!, p))
    .sort((a, b) => a - b)
    .slice(0, k);
}

describe('facility index', () => {
  it('finds the nearest among lists (each facility once, however many lists name it) and the nearest DCs, as a scan does', () => {
    const r = seeded(5);
    for (const n of [30, 900]) {
      const fs = facilitiesOf(n, r);
      const index = new FacilityIndex(fs);
      const dcs = fs.flatMap((f, i) => (f.type === 'dc' ? [i] : []));
      for (let q = 0; q < 200; q++) {
        const p = { lat: 25 + r() * 25, lon: -125 + r() * 60 };
        const k = 1 + Math.floor(r() * 12);
        const maxKm = r() < 0.4 ? r() * 2000 : 25_000;
        const ok = (fi: number) => fi % 3 !== 2;
        // two overlapping lists: the same facility in both must come back once
        const a = Array.from({ length: 1 + Math.floor(r() * n) }, () => Math.floor(r() * n));
        const b = [...a.slice(0, a.length >> 1), ...Array.from({ length: 5 }, () => Math.floor(r() * n))];
        const among = index.searchAmong(p, [a, b], k, maxKm, ok);
        expect(new Set(among.ids).size).toBe(among.ids.length);
        const want = scan(fs, [...a, ...b], p, k, maxKm, ok);
        expect(among.ids.map((i) => distanceKm(fs[i]!, p)).map((d) => d.toFixed(6))).toEqual(want.map((d) => d.toFixed(6)));
        const near = index.nearestDcs(p, k, maxKm, ok);
        expect(near.ids.every((i) => fs[i]!.type === 'dc')).toBe(true);
        expect(near.ids.map((i) => distanceKm(fs[i]!, p).toFixed(6))).toEqual(scan(fs, dcs, p, k, maxKm, ok).map((d) => d.toFixed(6)));
      }
    }
  });
});

describe("stock moves' arc selection", () => {
  it('keeps every arc it must and the cheapest others, in the order a stable sort by cost gives', () => {
    const r = seeded(11);
    for (let t = 0; t < 300; t++) {
      const limit = 1 + Math.floor(r() * 6);
      const sel = new ArcSelection(limit);
      // costs from a few values, so that ties are common
      const offers = Array.from({ length: Math.floor(r() * 25) }, (_, f) => ({ f, cost: Math.floor(r() * 6), must: r() < 0.2 }));
      sel.clear();
      for (const o of offers) sel.offer(o.f, o.cost, o.must);
      const sorted = [...offers].sort((x, y) => x.cost - y.cost);
      let others = 0;
      const want = sorted.filter((o) => o.must || others++ < limit).map((o) => [o.f, o.cost]);
      const got: number[][] = [];
      sel.forEach((f, cost) => got.push([f, cost]));
      expect(got).toEqual(want);
      expect(sel.size).toBe(offers.length);
      if (offers.length > 0) expect(sel.cheapest()).toBe(sorted[0]!.cost);
    }
  });
});
