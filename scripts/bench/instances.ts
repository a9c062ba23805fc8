/**
 * Seeded allocation instances (the format of docs/CONTRACT.md) for the benchmarks: the same seed and size give
 * the same instance on any machine.
 *
 * What makes them look like a retailer's network:
 * - facilities at US metro areas: a few DCs at the usual logistics hubs, stores spread over metros
 *   in proportion to population (jittered around the city centre); most stores ship from store,
 *   most offer pickup;
 * - a catalogue of a few hundred SKUs with Zipf-skewed demand; DCs hold nearly all of it in depth,
 *   stores a shallow assortment biased to the popular SKUs, with safety stock;
 * - some constrained SKUs (network stock well below their expected demand), some SKUs with
 *   substitutes, and lines that allow them;
 * - capacities sized from the expected demand so that they bind at the busiest facilities;
 * - customers where people live, 1–4 lines, mostly single units, ~10% pickup orders at a nearby
 *   pickup store, mixed priorities and due dates.
 */
import { rng } from './common.js';
import { DEFAULT_COSTS, type Instance } from '../../shared/instance.js';
import { distanceKm } from '../../shared/geo.js';

export interface InstanceSpec {
  orders: number;
  facilities: number;
  skus: number;
  seed: number;
  /**
   * Capacity binds hard: the DCs together ship this share of the day's expected units (0.5–0.6;
   * default 0.7, where the rest must come from stores anyway), and stores hold and ship less (stock
   * and capacity scaled by `storeScale`, default 1). The random draws are the same, so an instance
   * differs from its unbound twin only in these figures.
   */
  binding?: { dcCapacityShare: number; storeScale: number };
}

// [name, lat, lon, metro population in millions]
const METROS: [string, number, number, number][] = [
  ['NYC', 40.71, -74.0, 19.5],
  ['LAX', 34.05, -118.24, 12.8],
  ['CHI', 41.88, -87.63, 9.4],
  ['DFW', 32.78, -96.8, 7.9],
  ['HOU', 29.76, -95.37, 7.3],
  ['DCA', 38.9, -77.04, 6.3],
  ['PHL', 39.95, -75.17, 6.2],
  ['MIA', 25.76, -80.19, 6.1],
  ['ATL', 33.75, -84.39, 6.1],
  ['BOS', 42.36, -71.06, 4.9],
  ['PHX', 33.45, -112.07, 4.9],
  ['SFO', 37.77, -122.42, 4.7],
  ['RIV', 33.95, -117.4, 4.6],
  ['DET', 42.33, -83.05, 4.4],
  ['SEA', 47.61, -122.33, 4.0],
  ['MSP', 44.98, -93.27, 3.7],
  ['SAN', 32.72, -117.16, 3.3],
  ['TPA', 27.95, -82.46, 3.2],
  ['DEN', 39.74, -104.99, 3.0],
  ['STL', 38.63, -90.2, 2.8],
  ['BAL', 39.29, -76.61, 2.8],
  ['CLT', 35.23, -80.84, 2.7],
  ['ORL', 28.54, -81.38, 2.7],
  ['SAT', 29.42, -98.49, 2.6],
  ['PDX', 45.52, -122.68, 2.5],
  ['SAC', 38.58, -121.49, 2.4],
  ['PIT', 40.44, -80.0, 2.4],
  ['AUS', 30.27, -97.74, 2.3],
  ['LAS', 36.17, -115.14, 2.3],
  ['CIN', 39.1, -84.51, 2.2],
  ['KC', 39.1, -94.58, 2.2],
  ['CLE', 41.5, -81.69, 2.1],
  ['CMH', 39.96, -83.0, 2.1],
  ['IND', 39.77, -86.16, 2.1],
  ['SJC', 37.34, -121.89, 2.0],
  ['BNA', 36.16, -86.78, 2.0],
  ['RDU', 35.78, -78.64, 1.4],
  ['MKE', 43.04, -87.91, 1.6],
  ['JAX', 30.33, -81.66, 1.6],
  ['OKC', 35.47, -97.52, 1.4],
  ['MEM', 35.15, -90.05, 1.3],
  ['LOU', 38.25, -85.76, 1.3],
  ['RIC', 37.54, -77.44, 1.3],
  ['NOLA', 29.95, -90.07, 1.3],
  ['SLC', 40.76, -111.89, 1.3],
  ['BHM', 33.52, -86.8, 1.1],
  ['BUF', 42.89, -78.88, 1.1],
  ['ABQ', 35.08, -106.65, 0.9],
  ['OMA', 41.26, -95.94, 1.0],
  ['TUL', 36.15, -95.99, 1.0],
  ['BOI', 43.62, -116.2, 0.8],
  ['DSM', 41.59, -93.62, 0.7],
];
// DC sites: the usual distribution hubs, in the order a growing retailer opens them
const DC_SITES: [number, number][] = [
  [33.6, -84.5],
  [34.06, -117.65],
  [40.27, -76.88],
  [32.75, -97.33],
  [41.52, -88.08],
  [39.77, -86.3],
  [35.04, -89.98],
  [47.25, -122.44],
  [39.53, -119.81],
  [39.96, -83.13],
  [38.17, -85.74],
  [40.6, -75.47],
  [33.42, -111.94],
  [39.11, -94.63],
  [29.8, -95.5],
  [30.33, -81.76],
  [40.78, -111.97],
  [39.74, -104.85],
  [35.22, -80.94],
  [44.95, -93.1],
];

function gauss(r: () => number): number {
  let u = 0;
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

function weighted(r: () => number, cum: Float64Array): number {
  const x = r() * cum[cum.length - 1]!;
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cumulative(ws: number[]): Float64Array {
  const c = new Float64Array(ws.length);
  let s = 0;
  ws.forEach((w, i) => (c[i] = s += w));
  return c;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** A seeded instance; see the file comment for its shape. */
export function generateInstance(spec: InstanceSpec): Instance {
  const r = rng(spec.seed);
  const metroCum = cumulative(METROS.map((m) => m[3]));
  const nDc = Math.max(2, Math.min(DC_SITES.length, Math.round(spec.facilities * 0.02) + 3));
  const nStore = Math.max(1, spec.facilities - nDc);
  const storeScale = spec.binding?.storeScale ?? 1;

  // demand: lines per order 1–4, quantity mostly 1
  const lineCum = cumulative([50, 25, 15, 10]);
  const qtyCum = cumulative([70, 18, 6, 3, 3]); // 1..5
  const meanLines = 1.85;
  const meanQty = 1.51;
  const expectedUnits = spec.orders * meanLines * meanQty;

  const facilities: Instance['facilities'] = [];
  for (let i = 0; i < nDc; i++) {
    const [lat, lon] = DC_SITES[i]!;
    // DCs together can ship ~70% of the day's demand: the rest must come from stores
    const capacity = Math.round(((expectedUnits * (spec.binding?.dcCapacityShare ?? 0.7)) / nDc) * (0.7 + 0.6 * r()));
    facilities.push({ id: `DC${String(i + 1).padStart(2, '0')}`, type: 'dc', lat, lon, capacity, priority: 0, shipFromStore: true, pickup: false });
  }
  for (let i = 0; i < nStore; i++) {
    const m = METROS[weighted(r, metroCum)]!;
    const lat = r2(m[1] + gauss(r) * 0.25);
    const lon = r2(m[2] + gauss(r) * 0.3);
    const capacity = Math.max(spec.binding ? 2 : 4, Math.round(((expectedUnits * 0.9 * storeScale) / nStore) * (0.4 + 1.2 * r())));
    facilities.push({
      id: `S${String(i + 1).padStart(4, '0')}`,
      type: 'store',
      lat,
      lon,
      capacity,
      priority: r() < 0.2 ? 1 : 0,
      shipFromStore: r() < 0.85,
      pickup: r() < 0.75,
    });
  }

  // catalogue: Zipf demand, substitutes between neighbours in popularity, a few constrained SKUs
  const skus = Array.from({ length: spec.skus }, (_, i) => `SKU${String(i + 1).padStart(4, '0')}`);
  const zipf = skus.map((_, i) => 1 / (i + 1) ** 0.9);
  const zsum = zipf.reduce((a, b) => a + b, 0);
  const share = zipf.map((z) => z / zsum);
  const skuCum = cumulative(zipf);
  const items: Instance['items'] = skus.map((sku, i) => {
    const subs: string[] = [];
    if (r() < 0.2) {
      const n = r() < 0.5 ? 1 : 2;
      for (let k = 1; k <= n; k++) {
        const j = i + (r() < 0.5 ? k : -k);
        if (j >= 0 && j < skus.length && j !== i) subs.push(skus[j]!);
      }
    }
    return { sku, substitutes: [...new Set(subs)] };
  });
  const constrained = new Set(skus.filter(() => r() < 0.06));
  // the few top sellers that always run short on a busy day
  for (let i = 2; i < skus.length; i += Math.max(7, Math.floor(skus.length / 6))) constrained.add(skus[i]!);

  const inventory: Instance['inventory'] = [];
  skus.forEach((sku, i) => {
    const demand = expectedUnits * share[i]!;
    // total network stock relative to expected demand
    const cover = constrained.has(sku) ? 0.35 + 0.3 * r() : 1.6 + 1.2 * r();
    const inStores = 0.45; // share of the stock held in stores
    const popular = i < spec.skus * 0.2;
    const storeProb = popular ? 0.7 : 0.25;
    const dcProb = constrained.has(sku) ? 0.5 : 0.95;
    const dcHolders = facilities.slice(0, nDc).filter(() => r() < dcProb);
    for (const f of dcHolders) {
      const onHand = Math.round(((demand * cover * (1 - inStores)) / Math.max(1, dcHolders.length)) * (0.5 + r()));
      if (onHand <= 0) continue;
      inventory.push({ facility: f.id, sku, onHand, safetyStock: r() < 0.3 ? Math.min(onHand, Math.round(onHand * 0.05)) : 0 });
    }
    const storeHolders = Math.max(1, Math.round(nStore * storeProb));
    const perStore = (demand * cover * inStores) / storeHolders;
    for (let s = nDc; s < facilities.length; s++) {
      if (r() >= storeProb) continue;
      // store stock is lumpy: a few units, sometimes none above safety stock
      const mean = (perStore + 0.6) * storeScale;
      const onHand = Math.max(0, Math.round(mean * (0.3 + 1.4 * r())));
      const safetyStock = onHand > 0 && r() < 0.5 ? Math.min(onHand, 1 + Math.floor(r() * 2)) : 0;
      if (onHand > 0) inventory.push({ facility: facilities[s]!.id, sku, onHand, safetyStock });
    }
  });

  // orders
  const pickupStores = facilities.filter((f) => f.type === 'store' && f.pickup);
  const t0 = Date.UTC(2026, 0, 5, 6, 0, 0);
  const orders: Instance['orders'] = [];
  for (let i = 0; i < spec.orders; i++) {
    const m = METROS[weighted(r, metroCum)]!;
    const shipTo = { lat: r2(m[1] + gauss(r) * 0.45), lon: r2(m[2] + gauss(r) * 0.55) };
    const nLines = weighted(r, lineCum) + 1;
    const chosen = new Set<number>();
    while (chosen.size < nLines) chosen.add(weighted(r, skuCum));
    const lines = [...chosen].map((si, k) => ({
      line: k + 1,
      sku: skus[si]!,
      qty: weighted(r, qtyCum) + 1,
      allowSubstitutes: items[si]!.substitutes.length > 0 && r() < 0.5,
    }));
    const p = r();
    const priority = p < 0.1 ? 1 : p < 0.3 ? 2 : p < 0.8 ? 3 : 5;
    const createdAt = new Date(t0 + i * 9_000 + Math.floor(r() * 9_000)).toISOString();
    const dueDate = r() < 0.3 ? new Date(t0 + (1 + Math.floor(r() * 4)) * 86_400_000).toISOString().slice(0, 10) : undefined;
    if (pickupStores.length > 0 && r() < 0.1) {
      // pick up at the nearest pickup store
      let best = pickupStores[0]!;
      let bestKm = Infinity;
      for (const f of pickupStores) {
        const km = distanceKm(f, shipTo);
        if (km < bestKm) {
          bestKm = km;
          best = f;
        }
      }
      orders.push({
        id: `O${String(i + 1).padStart(6, '0')}`,
        priority,
        createdAt,
        ...(dueDate ? { dueDate } : {}),
        delivery: 'pickup',
        pickupFacility: best.id,
        lines,
      });
    } else {
      orders.push({ id: `O${String(i + 1).padStart(6, '0')}`, priority, createdAt, ...(dueDate ? { dueDate } : {}), delivery: 'ship', shipTo, lines });
    }
  }
  return { facilities, inventory, items, orders, costs: { ...DEFAULT_COSTS, perUnit: { ...DEFAULT_COSTS.perUnit } } };
}

/** Units ordered, and units the network could supply at most (stock above safety stock), for the notes. */
export function instanceStats(inst: Instance) {
  const units = inst.orders.reduce((s, o) => s + o.lines.reduce((t, l) => t + l.qty, 0), 0);
  const lines = inst.orders.reduce((s, o) => s + o.lines.length, 0);
  const pickup = inst.orders.filter((o) => o.delivery === 'pickup').length;
  const dcs = inst.facilities.filter((f) => f.type === 'dc').length;
  return {
    orders: inst.orders.length,
    lines,
    units,
    pickup,
    dcs,
    stores: inst.facilities.length - dcs,
    skus: inst.items.length,
    positions: inst.inventory.length,
  };
}
