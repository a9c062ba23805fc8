/**
 * The allocator's pure core. A `Network` holds facilities (with a nearest-neighbour search),
 * available units per facility and SKU (safety stock already taken off) and capacity left.
 *
 * `allocateOrder` finds a cheap whole-order assignment: a set-cover greedy over the nearest eligible
 * facilities and the nearest DCs (cost per unit covered, so a shipment already paid for pulls more
 * lines to it: fewer splits), checked against every single-facility fill and improved by dropping
 * facilities; when those cannot fill a line, the nearest eligible facilities that hold its SKU are
 * added (fill first, then cost); substitutes only for what the ordered SKUs could not fill.
 *
 * `allocateBatch` serves orders in rank order (no priority inversion: a lower-ranked order only sees
 * what higher-ranked ones left). Price rounds then steer that pass: shadow prices on capacity and
 * stock, raised where the demand orders would make alone exceeds what there is (subgradient steps on
 * the Lagrangian dual of capacity and stock), so that a rank-order pass at those prices gives scarce
 * capacity and stock to the orders they save most. Every pass serves orders in rank order, fill
 * first; the cheapest is kept, a unit less filled weighing more than any order's cost (priceRounds).
 * Then it improves the batch without taking a unit of fill from any order: it moves the orders in
 * the way of an order that ended far above what it would cost alone (an ejection: re-plan that
 * order first, then the ones it displaced; kept only if every order keeps its fill and the total
 * costs less; or to merge one of its shipments into another), re-plans each order against what the
 * others hold, and, per SKU some facility ran out of, reassigns the units the batch took of it
 * among the lines holding them by a min-cost flow (stock moves: a unit goes where the order already
 * ships from, freeing a shipment).
 *
 * Hot paths work on small dense arrays (candidates × SKUs of one order) and interned SKU rows; the
 * nearest-neighbour search visits rings of 1° grid cells around the point, ranking facilities by
 * the dot product of unit vectors (the same order as great-circle distance). Named closures are kept
 * out of the hot paths: under tsx (keepNames) each one created costs a property definition.
 */
import { distanceKm } from '../../shared/geo.js';
import { compareRank, type SourcingFacility, type SourcingOrder, type SourcingStrategy } from './strategy.js';

export interface Pick {
  line: number;
  facility: string;
  sku: string;
  qty: number;
  substitute: boolean;
}

export interface CandidateNote {
  facility: string;
  km: number;
  excluded?: string;
  units?: number;
}

export interface OrderPlan {
  order: string;
  picks: Pick[];
  unfilled: { line: number; qty: number }[];
  cost: number;
  shipments: number;
  explanation: { strategy: string; candidates: CandidateNote[]; chosen: { facility: string; units: number; km: number; cost: number }[]; substitutions: string[] };
}

/** A plan's picks as indices (facility, interned SKU), parallel to `picks`; a symbol, so JSON leaves it out. */
const REFS = Symbol('refs');
interface Refs {
  /** the network the indices belong to */
  net: Network;
  fis: number[];
  skus: number[];
}
type Indexed = OrderPlan & { [REFS]?: Refs };

interface Cand {
  fi: number;
  km: number;
  ship: number;
  unit: number;
}

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;
/** Up to this many facilities the nearest search scans them all; beyond, a grid of 1° cells. */
const SCAN_LIMIT = 256;
const CELL_DEG = 1;
/** Facilities holding a line's SKU added when the nearest candidates cannot fill it. */
const EXTRA_HOLDERS = 6;
/** Nearest eligible facilities remembered per order beyond maxCandidates, for re-planning after some fill up. */
const SPARE_CANDIDATES = 4;

/** The k best (largest dot product) facilities seen so far that pass `ok`. */
class TopK {
  readonly ids: number[] = [];
  readonly dots: number[] = [];
  floor: number;
  constructor(
    readonly k: number,
    readonly minDot: number,
  ) {
    this.floor = minDot;
  }
  reset() {
    this.ids.length = 0;
    this.dots.length = 0;
    this.floor = this.minDot;
  }
  consider(fi: number, d: number, ok: (fi: number) => boolean) {
    const { ids, dots, k } = this;
    if (d < this.floor || (d === this.floor && ids.length >= k)) return;
    if (!ok(fi)) return;
    let j = ids.length;
    if (j < k) {
      ids.push(fi);
      dots.push(d);
    } else j--;
    while (j > 0 && dots[j - 1]! < d) {
      ids[j] = ids[j - 1]!;
      dots[j] = dots[j - 1]!;
      j--;
    }
    ids[j] = fi;
    dots[j] = d;
    if (ids.length >= k) this.floor = dots[k - 1]!;
  }
}

/** Shadow prices of capacity (per facility) and stock (per SKU id, per facility): see `Network.prices`. */
export interface Prices {
  cap: Float64Array;
  stock: (Float64Array | undefined)[];
}

export class Network {
  readonly facilities: SourcingFacility[];
  private readonly byId = new Map<string, number>();
  /** unit vectors, 3 per facility: the nearest facility has the largest dot product */
  private readonly xyz: Float64Array;
  /** grid of CELL_DEG cells (row-major from −90° lat, −180° lon): facility indices by cell */
  private readonly grid: { rows: number; cols: number; start: Int32Array; ids: Int32Array } | null = null;
  /** DCs: few and far apart, candidates however many stores are nearer (SourcingStrategy.maxHubCandidates) */
  readonly hubs: Int32Array;
  private skuIds = new Map<string, number>();
  /** available units per facility, one row per interned SKU */
  private rows: Int32Array[] = [];
  /** per SKU id: the facilities that have held it (stock > 0) since the list was made, with a membership mask */
  private holderLists: ({ ids: number[]; has: Uint8Array } | undefined)[] = [];
  /** scratch for de-duplicating facilities in a search */
  private stamp: Uint32Array;
  private stampGen = 0;
  capacity: Float64Array;
  /** strategy → eligibility key → per facility 0 unknown, 1 eligible, 2 not */
  private eligibility = new WeakMap<SourcingStrategy, Map<string, Uint8Array>>();
  /**
   * Prices added to a unit's cost while planning (not to a plan's cost): per facility for its
   * capacity, per SKU id and facility for its stock. Set by the batch's price rounds, else null.
   */
  prices: Prices | null = null;

  constructor(facilities: SourcingFacility[]) {
    this.facilities = facilities;
    const n = facilities.length;
    this.capacity = new Float64Array(n);
    this.stamp = new Uint32Array(n);
    this.xyz = new Float64Array(n * 3);
    facilities.forEach((f, i) => {
      this.byId.set(f.id, i);
      this.capacity[i] = f.capacity;
      const la = f.lat * RAD;
      const lo = f.lon * RAD;
      this.xyz[3 * i] = Math.cos(la) * Math.cos(lo);
      this.xyz[3 * i + 1] = Math.cos(la) * Math.sin(lo);
      this.xyz[3 * i + 2] = Math.sin(la);
    });
    this.hubs = Int32Array.from(facilities.flatMap((f, i) => (f.type === 'dc' ? [i] : [])));
    if (n > SCAN_LIMIT) {
      const rows = Math.round(180 / CELL_DEG);
      const cols = Math.round(360 / CELL_DEG);
      const cellOf = facilities.map((f) => {
        const r = Math.min(rows - 1, Math.max(0, Math.floor((f.lat + 90) / CELL_DEG)));
        const c = (((Math.floor((f.lon + 180) / CELL_DEG) % cols) + cols) % cols) | 0;
        return r * cols + c;
      });
      const start = new Int32Array(rows * cols + 1);
      for (const c of cellOf) start[c + 1]!++;
      for (let c = 0; c < rows * cols; c++) start[c + 1]! += start[c]!;
      const fill = start.slice(0, rows * cols);
      const ids = new Int32Array(n);
      cellOf.forEach((c, i) => (ids[fill[c]!++] = i));
      this.grid = { rows, cols, start, ids };
    }
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** A copy whose stock and capacity change independently of this one's. */
  clone(): Network {
    const c = Object.create(Network.prototype) as Network;
    Object.assign(c, this);
    c.capacity = Float64Array.from(this.capacity);
    c.rows = this.rows.map((r) => r.slice());
    c.skuIds = new Map(this.skuIds);
    c.holderLists = this.holderLists.map((h) => (h ? { ids: h.ids.slice(), has: h.has.slice() } : undefined));
    c.stamp = new Uint32Array(this.facilities.length);
    c.stampGen = 0;
    c.prices = null;
    return c;
  }

  /** The available units per facility of the SKU with this id. */
  rowAt(id: number): Int32Array {
    return this.rows[id]!;
  }

  /** The available units of one SKU per facility index (undefined when no facility ever had it). */
  row(sku: string): Int32Array | undefined {
    const id = this.skuIds.get(sku);
    return id === undefined ? undefined : this.rows[id];
  }

  private rowFor(sku: string): Int32Array {
    let id = this.skuIds.get(sku);
    if (id === undefined) {
      id = this.rows.length;
      this.skuIds.set(sku, id);
      this.rows.push(new Int32Array(this.facilities.length));
    }
    return this.rows[id]!;
  }

  /** The SKU's interned id, or -1. */
  skuId(sku: string): number {
    return this.skuIds.get(sku) ?? -1;
  }

  available(fi: number, sku: string): number {
    return this.row(sku)?.[fi] ?? 0;
  }

  setAvailable(facility: string | number, sku: string, units: number): void {
    const fi = typeof facility === 'number' ? facility : this.byId.get(facility);
    if (fi === undefined) return;
    const v = Math.max(0, Math.floor(units));
    this.rowFor(sku)[fi] = v;
    if (v > 0) this.held(this.skuIds.get(sku)!, fi);
  }

  take(fi: number, sku: string, q: number): void {
    const arr = this.rowFor(sku);
    arr[fi] = arr[fi]! - q;
    this.capacity[fi] = this.capacity[fi]! - q;
  }

  give(fi: number, sku: string, q: number): void {
    const arr = this.rowFor(sku);
    arr[fi] = arr[fi]! + q;
    this.capacity[fi] = this.capacity[fi]! + q;
    if (arr[fi]! > 0) this.held(this.skuIds.get(sku)!, fi);
  }

  /** take/give by facility index and SKU id (as a plan's refs hold them) */
  takeAt(fi: number, id: number, q: number): void {
    const arr = this.rows[id]!;
    arr[fi] = arr[fi]! - q;
    this.capacity[fi] = this.capacity[fi]! - q;
  }

  giveAt(fi: number, id: number, q: number): void {
    const arr = this.rows[id]!;
    arr[fi] = arr[fi]! + q;
    this.capacity[fi] = this.capacity[fi]! + q;
    if (arr[fi]! > 0) this.held(id, fi);
  }

  private held(id: number, fi: number) {
    const h = this.holderLists[id];
    if (h && !h.has[fi]) {
      h.has[fi] = 1;
      h.ids.push(fi);
    }
  }

  /** Facilities that may hold the SKU (a superset of those with stock now). */
  holdersOf(id: number): readonly number[] {
    let h = this.holderLists[id];
    if (!h) {
      const row = this.rows[id]!;
      h = { ids: [], has: new Uint8Array(this.facilities.length) };
      for (let fi = 0; fi < row.length; fi++)
        if (row[fi]! > 0) {
          h.ids.push(fi);
          h.has[fi] = 1;
        }
      this.holderLists[id] = h;
    }
    return h.ids;
  }

  /** Nearest facilities among `lists` (de-duplicated) that pass `ok`, at most k, with dot products. */
  searchAmong(point: { lat: number; lon: number }, lists: readonly (readonly number[])[], k: number, maxKm: number, ok: (fi: number) => boolean): { ids: number[]; dots: number[] } {
    const la = point.lat * RAD;
    const lo = point.lon * RAD;
    const px = Math.cos(la) * Math.cos(lo);
    const py = Math.cos(la) * Math.sin(lo);
    const pz = Math.sin(la);
    const maxAng = maxKm / EARTH_RADIUS_KM;
    const top = new TopK(k, maxAng >= Math.PI ? -2 : Math.cos(maxAng));
    const xyz = this.xyz;
    const gen = ++this.stampGen;
    if (gen === 0xffffffff) {
      this.stamp.fill(0);
      this.stampGen = 1;
    }
    for (const list of lists)
      for (const fi of list) {
        if (this.stamp[fi] === this.stampGen) continue;
        this.stamp[fi] = this.stampGen;
        top.consider(fi, px * xyz[3 * fi]! + py * xyz[3 * fi + 1]! + pz * xyz[3 * fi + 2]!, ok);
      }
    return top;
  }

  /**
   * Memo of `s.eligible(·, order)` per facility. Orders with the same `s.eligibilityKey` share one;
   * without a key, each call gets a fresh one (to share within one order's searches).
   */
  eligibleMemo(s: SourcingStrategy, order: SourcingOrder): Uint8Array {
    if (!s.eligibilityKey) return new Uint8Array(this.facilities.length);
    const key = s.eligibilityKey(order);
    let byKey = this.eligibility.get(s);
    if (!byKey) this.eligibility.set(s, (byKey = new Map()));
    let memo = byKey.get(key);
    if (!memo) byKey.set(key, (memo = new Uint8Array(this.facilities.length)));
    return memo;
  }

  /** Eligible facilities nearest `point` first, at most `k`, within `maxKm` great-circle km. */
  nearest(point: { lat: number; lon: number }, k: number, maxKm: number, ok: (fi: number) => boolean): number[] {
    return this.search(point, k, maxKm, ok).ids;
  }

  /** `nearest`, with the dot products of the unit vectors (cos of the angle) alongside. */
  search(point: { lat: number; lon: number }, k: number, maxKm: number, ok: (fi: number) => boolean): { ids: number[]; dots: number[] } {
    const n = this.facilities.length;
    if (n === 0 || k <= 0) return { ids: [], dots: [] };
    const la = point.lat * RAD;
    const lo = point.lon * RAD;
    const px = Math.cos(la) * Math.cos(lo);
    const py = Math.cos(la) * Math.sin(lo);
    const pz = Math.sin(la);
    // chord and great-circle distance grow together: rank by the dot product of unit vectors
    const maxAng = maxKm / EARTH_RADIUS_KM;
    const top = new TopK(Math.min(k, n), maxAng >= Math.PI ? -2 : Math.cos(maxAng));
    const xyz = this.xyz;
    const g = this.grid;
    if (g) {
      // rings of cells around the point's cell, until the next ring cannot hold anything nearer
      const fr = (point.lat + 90) / CELL_DEG;
      const fc = (point.lon + 180) / CELL_DEG;
      const prow = Math.min(g.rows - 1, Math.max(0, Math.floor(fr)));
      const pcol = (((Math.floor(fc) % g.cols) + g.cols) % g.cols) | 0;
      const inLat = Math.min(fr - Math.floor(fr), 1 - (fr - Math.floor(fr)));
      const inLon = Math.min(fc - Math.floor(fc), 1 - (fc - Math.floor(fc)));
      const cosLat = Math.cos(la);
      const maxRing = (g.cols - 1) >> 1; // beyond, rings would wrap onto themselves
      const { start, ids, cols } = g;
      let done = false;
      for (let r = 0; r <= maxRing; r++) {
        if (r > 0) {
          // nothing in ring r is nearer than this angle: a latitude gap, or a longitude gap at this latitude
          const latGap = (r - 1 + inLat) * CELL_DEG * RAD;
          const lonGap = Math.min(Math.PI / 2, (r - 1 + inLon) * CELL_DEG * RAD);
          const bound = Math.min(latGap, Math.asin(Math.min(1, cosLat * Math.sin(lonGap))));
          if (bound > maxAng || (top.ids.length >= top.k && Math.cos(bound) <= top.floor)) {
            done = true;
            break;
          }
        }
        const r0 = prow - r;
        const r1 = prow + r;
        for (let row = Math.max(0, r0); row <= Math.min(g.rows - 1, r1); row++) {
          // the whole row on the ring's top and bottom, its two ends in between
          const step = row === r0 || row === r1 ? 1 : Math.max(1, 2 * r);
          for (let col = pcol - r; col <= pcol + r; col += step) {
            const c = row * cols + (((col % cols) + cols) % cols);
            for (let e = start[c]!, end = start[c + 1]!; e < end; e++) {
              const fi = ids[e]!;
              top.consider(fi, px * xyz[3 * fi]! + py * xyz[3 * fi + 1]! + pz * xyz[3 * fi + 2]!, ok);
            }
          }
        }
      }
      if (done) return top;
      // the search spans the globe: scan everything
      top.reset();
    }
    for (let fi = 0; fi < n; fi++) top.consider(fi, px * xyz[3 * fi]! + py * xyz[3 * fi + 1]! + pz * xyz[3 * fi + 2]!, ok);
    return top;
  }

  /** The nearest DCs that pass `ok`, at most `k`, with their dot products. */
  nearestHubs(point: { lat: number; lon: number }, k: number, maxKm: number, ok: (fi: number) => boolean): { ids: number[]; dots: number[] } {
    if (k <= 0 || this.hubs.length === 0) return { ids: [], dots: [] };
    const la = point.lat * RAD;
    const lo = point.lon * RAD;
    const px = Math.cos(la) * Math.cos(lo);
    const py = Math.cos(la) * Math.sin(lo);
    const pz = Math.sin(la);
    const maxAng = maxKm / EARTH_RADIUS_KM;
    const top = new TopK(Math.min(k, this.hubs.length), maxAng >= Math.PI ? -2 : Math.cos(maxAng));
    const xyz = this.xyz;
    for (const fi of this.hubs) top.consider(fi, px * xyz[3 * fi]! + py * xyz[3 * fi + 1]! + pz * xyz[3 * fi + 2]!, ok);
    return top;
  }
}

function destination(net: Network, order: SourcingOrder): { lat: number; lon: number } | null {
  if (order.delivery === 'pickup') {
    const fi = order.pickupFacility === undefined ? undefined : net.indexOf(order.pickupFacility);
    return fi === undefined ? null : net.facilities[fi]!;
  }
  return order.shipTo ?? null;
}

/** A candidate; `dot` (from the search) gives the great-circle distance without the haversine. */
function cand(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }, fi: number, dot?: number): Cand {
  const f = net.facilities[fi]!;
  const km = dot === undefined ? distanceKm(f, to) : EARTH_RADIUS_KM * Math.acos(Math.max(-1, Math.min(1, dot)));
  return { fi, km, ship: s.shipmentCost(f, km, order), unit: s.unitCost(f) };
}

function cands(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }, found: { ids: number[]; dots: number[] }): Cand[] {
  const out: Cand[] = [];
  for (let j = 0; j < found.ids.length; j++) out.push(cand(net, order, s, to, found.ids[j]!, found.dots[j]!));
  return out;
}

// The predicates of the nearest searches read their context from here rather than closing over it.
let qNet: Network;
let qOrder: SourcingOrder;
let qStrategy: SourcingStrategy;
let qMemo: Uint8Array;
let qRows: Int32Array[] = [];
let qHave: Cand[] = [];
function eligibleQ(fi: number): boolean {
  let m = qMemo[fi]!;
  if (m === 0) qMemo[fi] = m = qStrategy.eligible(qNet.facilities[fi]!, qOrder) === null ? 1 : 2;
  return m === 1;
}
function okEligible(fi: number): boolean {
  return eligibleQ(fi);
}
function okCandidate(fi: number): boolean {
  return qNet.capacity[fi]! > 0 && eligibleQ(fi);
}
function okHolder(fi: number): boolean {
  if (qNet.capacity[fi]! <= 0) return false;
  let any = false;
  for (const r of qRows) if (r[fi]! > 0) any = true;
  if (!any) return false;
  for (const c of qHave) if (c.fi === fi) return false;
  return eligibleQ(fi);
}
function setQuery(net: Network, order: SourcingOrder, s: SourcingStrategy, memo: Uint8Array, rows: Int32Array[] = [], have: Cand[] = []) {
  qNet = net;
  qOrder = order;
  qStrategy = s;
  qMemo = memo;
  qRows = rows;
  qHave = have;
}

/**
 * What an order's planning needs of the map, worked out once per order and batch: its destination,
 * its nearest eligible facilities (a few more than it uses, as some fill up) and nearest DCs.
 */
interface Geo {
  to: { lat: number; lon: number } | null;
  memo: Uint8Array;
  near: Cand[];
  /** the search found fewer than it asked for: `near` is every eligible facility in reach */
  complete: boolean;
  hubs: Cand[];
  pickup: Cand | null;
}

function geoOf(net: Network, order: SourcingOrder, s: SourcingStrategy): Geo {
  const to = destination(net, order);
  const memo = net.eligibleMemo(s, order);
  if (!to) return { to, memo, near: [], complete: true, hubs: [], pickup: null };
  setQuery(net, order, s, memo);
  const want = s.maxCandidates + SPARE_CANDIDATES;
  const near = cands(net, order, s, to, net.search(to, want, s.maxDistanceKm, okEligible));
  const hubs = cands(net, order, s, to, net.nearestHubs(to, s.maxHubCandidates ?? 0, s.maxDistanceKm, okEligible));
  let pickup: Cand | null = null;
  if (order.delivery === 'pickup') {
    // the pickup store itself is always a candidate when it may hand over
    const pf = net.indexOf(order.pickupFacility!);
    if (pf !== undefined && eligibleQ(pf)) pickup = cand(net, order, s, to, pf);
  }
  return { to, memo, near, complete: near.length < want, hubs, pickup };
}

/** The candidates as the network stands: the nearest eligible with capacity left, the nearest DCs, the pickup store. */
function candidates(net: Network, order: SourcingOrder, s: SourcingStrategy, geo: Geo): Cand[] {
  const out: Cand[] = [];
  const cap = net.capacity;
  if (geo.pickup && cap[geo.pickup.fi]! > 0) out.push(geo.pickup);
  let n = 0;
  for (const c of geo.near) {
    if (n >= s.maxCandidates) break;
    if (cap[c.fi]! <= 0) continue;
    n++;
    if (c !== geo.pickup && (!geo.pickup || c.fi !== geo.pickup.fi)) out.push(c);
  }
  if (n < s.maxCandidates && !geo.complete) {
    // more of the nearest are full than we kept spares for: search again, among those with capacity
    out.length = 0;
    if (geo.pickup && cap[geo.pickup.fi]! > 0) out.push(geo.pickup);
    setQuery(net, order, s, geo.memo);
    for (const c of cands(net, order, s, geo.to!, net.search(geo.to!, s.maxCandidates, s.maxDistanceKm, okCandidate))) if (!geo.pickup || c.fi !== geo.pickup.fi) out.push(c);
  }
  // the nearest DCs with capacity left (a short list: searched afresh)
  let hubs = geo.hubs;
  let full = 0;
  for (const h of hubs) if (cap[h.fi]! <= 0) full++;
  if (full > 0) {
    setQuery(net, order, s, geo.memo);
    hubs = cands(net, order, s, geo.to!, net.nearestHubs(geo.to!, s.maxHubCandidates ?? 0, s.maxDistanceKm, okCandidate));
  }
  for (const h of hubs) {
    if (cap[h.fi]! <= 0) continue;
    let dup = false;
    for (const c of out) if (c.fi === h.fi) dup = true;
    if (!dup) out.push(h);
  }
  return out;
}

/** Up to this many facilities that hold the SKUs, they are scanned; beyond, the grid is searched. */
const HOLDER_SCAN = 512;

/** The nearest eligible facilities with capacity that hold any of the SKUs `ids`, not already in `have`. */
function holders(net: Network, order: SourcingOrder, s: SourcingStrategy, geo: Geo, ids: number[], have: Cand[], k: number): Cand[] {
  if (ids.length === 0 || !geo.to) return [];
  const rows: Int32Array[] = [];
  const lists: (readonly number[])[] = [];
  let n = 0;
  for (const id of ids) {
    rows.push(net.rowAt(id));
    const l = net.holdersOf(id);
    lists.push(l);
    n += l.length;
  }
  setQuery(net, order, s, geo.memo, rows, have);
  const found = n <= HOLDER_SCAN ? net.searchAmong(geo.to, lists, k, s.maxDistanceKm, okHolder) : net.search(geo.to, k, s.maxDistanceKm, okHolder);
  return cands(net, order, s, geo.to, found);
}

interface Want {
  line: number;
  sku: string;
  qty: number;
  substitute: boolean;
  exclude?: readonly string[];
}

interface Solution {
  /** parallel: candidate index, want index, units */
  c: number[];
  w: number[];
  q: number[];
  filled: number;
  cost: number;
}

// scratch for Board.greedy, grown as needed (one greedy runs at a time)
let sR = new Float64Array(64);
let sK = new Float64Array(32);
let sRem = new Float64Array(8);
let sUsed = new Uint8Array(32);
let sShared = new Float64Array(8);
let sUnitsCost = 0;

/**
 * One order's wants against its candidates, as dense arrays: room per (candidate, SKU group) and
 * capacity per candidate, as the network stands, so that the greedy can be re-run cheaply.
 */
class Board {
  readonly C: number;
  readonly W: number;
  readonly G: number;
  /** want → SKU group (wants of the same SKU share its stock) */
  readonly group: Int32Array;
  readonly room: Float64Array;
  readonly cap: Float64Array;
  /** cost per unit per (candidate, SKU group): the candidate's handling cost plus the network's prices */
  readonly unit: Float64Array;
  /** (candidate, want) the want may not use the candidate, or null when no want excludes any */
  readonly excl: Uint8Array | null = null;
  readonly total: number;

  constructor(
    net: Network,
    readonly wants: Want[],
    readonly cands: Cand[],
  ) {
    const C = (this.C = cands.length);
    const W = (this.W = wants.length);
    const skus: string[] = [];
    this.group = new Int32Array(W);
    let total = 0;
    let anyExcl = false;
    for (let wi = 0; wi < W; wi++) {
      const w = wants[wi]!;
      let g = skus.indexOf(w.sku);
      if (g < 0) g = skus.push(w.sku) - 1;
      this.group[wi] = g;
      total += w.qty;
      if (w.exclude && w.exclude.length > 0) anyExcl = true;
    }
    this.total = total;
    const G = (this.G = skus.length);
    this.room = new Float64Array(C * G);
    this.cap = new Float64Array(C);
    this.unit = new Float64Array(C * G);
    const prices = net.prices;
    for (let g = 0; g < G; g++) {
      const row = net.row(skus[g]!);
      if (row) for (let c = 0; c < C; c++) this.room[c * G + g] = row[cands[c]!.fi]!;
      const sp = prices ? prices.stock[net.skuId(skus[g]!)] : undefined;
      for (let c = 0; c < C; c++) {
        const fi = cands[c]!.fi;
        this.unit[c * G + g] = cands[c]!.unit + (prices ? prices.cap[fi]! + (sp ? sp[fi]! : 0) : 0);
      }
    }
    for (let c = 0; c < C; c++) this.cap[c] = net.capacity[cands[c]!.fi]!;
    if (anyExcl) {
      const ex = new Uint8Array(C * W);
      for (let c = 0; c < C; c++) {
        const id = net.facilities[cands[c]!.fi]!.id;
        for (let wi = 0; wi < W; wi++) if (wants[wi]!.exclude?.includes(id)) ex[c * W + wi] = 1;
      }
      this.excl = ex;
    }
    if (sR.length < C * G) sR = new Float64Array(2 * C * G);
    if (sK.length < C) sK = new Float64Array(2 * C);
    if (sUsed.length < C) sUsed = new Uint8Array(2 * C);
    if (sRem.length < W) sRem = new Float64Array(2 * W);
    if (sShared.length < G) sShared = new Float64Array(2 * G);
  }

  /** Units candidate c could give now (room sR, capacity sK, remaining sRem), without taking them; their cost in sUnitsCost. */
  private units(c: number): number {
    const { G, W, group, excl, unit } = this;
    sUnitsCost = 0;
    let capLeft = sK[c]!;
    if (capLeft <= 0) return 0;
    if (W === 1) {
      if (excl && excl[c]) return 0;
      const u = Math.min(sRem[0]!, sR[c * G]!, capLeft);
      sUnitsCost = u * unit[c * G]!;
      return u;
    }
    // wants of one SKU share its room: track what this candidate has given per group so far
    const shared = G < W;
    if (shared) sShared.fill(0, 0, G);
    let u = 0;
    for (let wi = 0; wi < W && capLeft > 0; wi++) {
      const need = sRem[wi]!;
      if (need <= 0) continue;
      if (excl && excl[c * W + wi]) continue;
      const g = group[wi]!;
      const avail = shared ? sR[c * G + g]! - sShared[g]! : sR[c * G + g]!;
      const t = Math.min(need, avail, capLeft);
      if (t <= 0) continue;
      u += t;
      sUnitsCost += t * unit[c * G + g]!;
      capLeft -= t;
      if (shared) sShared[g] = sShared[g]! + t;
    }
    return u;
  }

  /**
   * Set-cover greedy: repeatedly take the candidate with the lowest incremental cost per unit
   * covered. `paid`: candidates whose shipment the order already pays for; `banned`: a candidate
   * left out (for drop-one), or -1.
   */
  greedy(paid: Uint8Array | null, banned = -1): Solution {
    const { C, G, W, group, cands, excl, unit } = this;
    sR.set(this.room);
    sK.set(this.cap);
    for (let wi = 0; wi < W; wi++) sRem[wi] = this.wants[wi]!.qty;
    if (paid) sUsed.set(paid);
    else sUsed.fill(0, 0, C);
    const sol: Solution = { c: [], w: [], q: [], filled: 0, cost: 0 };
    for (;;) {
      let best = -1;
      let bestScore = Infinity;
      let bestUnits = 0;
      for (let c = 0; c < C; c++) {
        if (c === banned) continue;
        const u = this.units(c);
        if (u <= 0) continue;
        const cd = cands[c]!;
        const score = ((sUsed[c] ? 0 : cd.ship) + sUnitsCost) / u;
        if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && u > bestUnits)) {
          best = c;
          bestScore = score;
          bestUnits = u;
        }
      }
      if (best < 0) break;
      const cd = cands[best]!;
      let capLeft = sK[best]!;
      for (let wi = 0; wi < W && capLeft > 0; wi++) {
        if (sRem[wi]! <= 0) continue;
        if (excl && excl[best * W + wi]) continue;
        const ri = best * G + group[wi]!;
        const t = Math.min(sRem[wi]!, sR[ri]!, capLeft);
        if (t <= 0) continue;
        sol.c.push(best);
        sol.w.push(wi);
        sol.q.push(t);
        sRem[wi] = sRem[wi]! - t;
        sR[ri] = sR[ri]! - t;
        capLeft -= t;
        sol.filled += t;
        sol.cost += t * unit[ri]!;
      }
      sK[best] = capLeft;
      if (!sUsed[best]) sol.cost += cd.ship;
      sUsed[best] = 1;
    }
    return sol;
  }

  /** One candidate taking every want, when one can; the cheapest such. */
  single(): Solution | null {
    const { C, G, W, group, cands, excl, total } = this;
    sShared.fill(0, 0, G);
    for (let wi = 0; wi < W; wi++) sShared[group[wi]!] = sShared[group[wi]!]! + this.wants[wi]!.qty;
    let best = -1;
    let bestCost = Infinity;
    for (let c = 0; c < C; c++) {
      if (this.cap[c]! < total) continue;
      let ok = true;
      for (let g = 0; g < G && ok; g++) if (this.room[c * G + g]! < sShared[g]!) ok = false;
      if (excl) for (let wi = 0; wi < W && ok; wi++) if (excl[c * W + wi]) ok = false;
      if (!ok) continue;
      let cost = cands[c]!.ship;
      for (let wi = 0; wi < W; wi++) cost += this.wants[wi]!.qty * this.unit[c * G + group[wi]!]!;
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    if (best < 0) return null;
    const sol: Solution = { c: [], w: [], q: [], filled: total, cost: bestCost };
    for (let wi = 0; wi < W; wi++) {
      sol.c.push(best);
      sol.w.push(wi);
      sol.q.push(this.wants[wi]!.qty);
    }
    return sol;
  }
}

function better(a: Solution, b: Solution | null): boolean {
  return !b || a.filled > b.filled || (a.filled === b.filled && a.cost < b.cost - 1e-9);
}

function distinct(cs: number[]): number[] {
  const out: number[] = [];
  for (const c of cs) if (!out.includes(c)) out.push(c);
  return out;
}

/** The best plan for the board's wants: the greedy, one facility for all, then drop-one. */
function bestPlan(b: Board, paid: Uint8Array | null): Solution {
  let best = b.greedy(paid);
  if (!paid && best.filled > 0 && distinct(best.c).length > 1) {
    const one = b.single();
    if (one && better(one, best)) best = one;
  }
  // drop-one improvement: a split whose worst shipment can go is often cheaper without it
  for (let round = 0; round < 3; round++) {
    const usedCs = distinct(best.c);
    if (usedCs.length < 2) break;
    let improved = false;
    for (const c of usedCs) {
      const alt = b.greedy(paid, c);
      if (better(alt, best)) {
        best = alt;
        improved = true;
      }
    }
    if (!improved) break;
  }
  return best;
}

export interface PlanOptions {
  explain?: boolean;
}

interface Taken {
  want: Want;
  cand: Cand;
  qty: number;
}

function paidOf(cs: Cand[], taken: Taken[]): Uint8Array {
  const p = new Uint8Array(cs.length);
  for (let i = 0; i < cs.length; i++) for (const t of taken) if (t.cand.fi === cs[i]!.fi) p[i] = 1;
  return p;
}

/** SKU ids of the wants a solution leaves (partly) unfilled. */
function missingSkus(net: Network, wants: Want[], sol: Solution): number[] {
  const got = new Float64Array(wants.length);
  for (let i = 0; i < sol.w.length; i++) got[sol.w[i]!] = got[sol.w[i]!]! + sol.q[i]!;
  const ids: number[] = [];
  for (let wi = 0; wi < wants.length; wi++) {
    if (got[wi]! >= wants[wi]!.qty) continue;
    const id = net.skuId(wants[wi]!.sku);
    if (id >= 0 && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** Plan one order against the network and commit it (stock and capacity are taken). */
export function allocateOrder(net: Network, order: SourcingOrder, strategy: SourcingStrategy, substitutesOf: (sku: string) => readonly string[], opts: PlanOptions = {}): OrderPlan {
  const plan = planOrder(net, order, strategy, substitutesOf, geoOf(net, order, strategy));
  if (opts.explain) explainPlan(net, order, strategy, plan);
  return plan;
}

function planOrder(net: Network, order: SourcingOrder, strategy: SourcingStrategy, substitutesOf: (sku: string) => readonly string[], geo: Geo): OrderPlan {
  const plan: OrderPlan = {
    order: order.id,
    picks: [],
    unfilled: [],
    cost: 0,
    shipments: 0,
    explanation: { strategy: strategy.name, candidates: [], chosen: [], substitutions: [] },
  };
  if (!geo.to) {
    for (const l of order.lines) plan.unfilled.push({ line: l.line, qty: l.qty });
    plan.explanation.candidates.push({ facility: order.pickupFacility ?? '?', km: 0, excluded: 'unknown destination' });
    return plan;
  }
  let cands = candidates(net, order, strategy, geo);
  const wants: Want[] = [];
  for (const l of order.lines) wants.push({ line: l.line, sku: l.sku, qty: l.qty, substitute: false, exclude: l.exclude });
  let board = new Board(net, wants, cands);
  let first = bestPlan(board, null);
  if (first.filled < board.total) {
    // the nearest facilities cannot fill it all: add the nearest that hold what is missing
    const extra = holders(net, order, strategy, geo, missingSkus(net, wants, first), cands, EXTRA_HOLDERS);
    if (extra.length > 0) {
      const wider = new Board(net, wants, cands.concat(extra));
      const alt = bestPlan(wider, null);
      if (better(alt, first)) {
        first = alt;
        board = wider;
        cands = wider.cands;
      }
    }
  }
  const taken: Taken[] = [];
  for (let i = 0; i < first.c.length; i++) {
    const cd = board.cands[first.c[i]!]!;
    const w = wants[first.w[i]!]!;
    net.take(cd.fi, w.sku, first.q[i]!);
    taken.push({ want: w, cand: cd, qty: first.q[i]! });
  }

  // substitutes, in the item's order of preference, for what the ordered SKU could not fill
  if (first.filled < board.total) {
    const remaining = new Map<number, number>();
    for (const l of order.lines) remaining.set(l.line, l.qty);
    for (const t of taken) remaining.set(t.want.line, remaining.get(t.want.line)! - t.qty);
    for (const l of order.lines) {
      let rem = remaining.get(l.line)!;
      if (rem <= 0 || !l.allowSubstitutes) continue;
      for (const alt of substitutesOf(l.sku)) {
        if (rem <= 0) break;
        const altId = net.skuId(alt);
        if (altId < 0) continue;
        const w: Want = { line: l.line, sku: alt, qty: rem, substitute: true, exclude: l.exclude };
        let sb = new Board(net, [w], cands);
        let sol = sb.greedy(paidOf(cands, taken));
        if (sol.filled < rem) {
          const extra = holders(net, order, strategy, geo, [altId], cands, EXTRA_HOLDERS);
          if (extra.length > 0) {
            const wider = new Board(net, [w], cands.concat(extra));
            const wsol = wider.greedy(paidOf(wider.cands, taken));
            if (better(wsol, sol)) {
              sol = wsol;
              sb = wider;
              cands = wider.cands;
            }
          }
        }
        if (sol.filled === 0) continue;
        for (let i = 0; i < sol.c.length; i++) {
          const cd = sb.cands[sol.c[i]!]!;
          net.take(cd.fi, alt, sol.q[i]!);
          taken.push({ want: w, cand: cd, qty: sol.q[i]! });
        }
        rem -= sol.filled;
        plan.explanation.substitutions.push(`line ${l.line}: ${sol.filled} × ${alt} for ${l.sku}`);
      }
      remaining.set(l.line, rem);
    }
    for (const [line, qty] of remaining) if (qty > 0) plan.unfilled.push({ line, qty });
  }

  // the cost as DESIGN.md counts it: a shipment per facility, handling per unit
  const seen: number[] = [];
  const refs: Refs = { net, fis: [], skus: [] };
  let cost = 0;
  for (const t of taken) {
    plan.picks.push({ line: t.want.line, facility: net.facilities[t.cand.fi]!.id, sku: t.want.sku, qty: t.qty, substitute: t.want.substitute });
    refs.fis.push(t.cand.fi);
    refs.skus.push(net.skuId(t.want.sku));
    if (!seen.includes(t.cand.fi)) {
      seen.push(t.cand.fi);
      cost += t.cand.ship;
    }
    cost += t.qty * t.cand.unit;
  }
  plan.shipments = seen.length;
  plan.cost = cost;
  (plan as Indexed)[REFS] = refs;
  return plan;
}

/** Return a plan's units to the network (for re-planning). */
export function release(net: Network, plan: OrderPlan): void {
  const refs = (plan as Indexed)[REFS];
  if (refs?.net === net) for (let i = 0; i < plan.picks.length; i++) net.giveAt(refs.fis[i]!, refs.skus[i]!, plan.picks[i]!.qty);
  else for (const p of plan.picks) net.give(net.indexOf(p.facility)!, p.sku, p.qty);
}

function retake(net: Network, plan: OrderPlan): void {
  const refs = (plan as Indexed)[REFS];
  if (refs?.net === net) for (let i = 0; i < plan.picks.length; i++) net.takeAt(refs.fis[i]!, refs.skus[i]!, plan.picks[i]!.qty);
  else for (const p of plan.picks) net.take(net.indexOf(p.facility)!, p.sku, p.qty);
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Fill a plan's explanation: the candidates as they stood for it, and what each chosen facility costs. */
export function explainPlan(net: Network, order: SourcingOrder, s: SourcingStrategy, plan: OrderPlan): void {
  const to = destination(net, order);
  if (!to) return;
  release(net, plan);
  try {
    const cands = candidates(net, order, s, geoOf(net, order, s));
    const wants: Want[] = order.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty, substitute: false, exclude: l.exclude }));
    plan.explanation.candidates = explainCandidates(net, order, s, to, cands, wants, plan);
    const units = new Map<string, number>();
    for (const p of plan.picks) units.set(p.facility, (units.get(p.facility) ?? 0) + p.qty);
    plan.explanation.chosen = [...units].map(([id, u]) => {
      const f = net.facilities[net.indexOf(id)!]!;
      const km = distanceKm(f, to);
      return { facility: id, units: u, km: round(km), cost: round(s.shipmentCost(f, km, order) + u * s.unitCost(f)) };
    });
  } finally {
    retake(net, plan);
  }
}

function explainCandidates(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }, cands: Cand[], wants: Want[], plan: OrderPlan): CandidateNote[] {
  const notes: CandidateNote[] = [];
  const considered = new Set(cands.map((c) => c.fi));
  const note = (fi: number, km: number) => {
    const f = net.facilities[fi]!;
    const units = wants.reduce((sum, w) => sum + Math.min(w.qty, w.exclude?.includes(f.id) ? 0 : net.available(fi, w.sku)), 0);
    const excl = wants.every((w) => w.exclude?.includes(f.id)) ? 'came up short on this order before' : undefined;
    notes.push({ facility: f.id, km, units, ...(excl ? { excluded: excl } : {}) });
  };
  const listed = new Set<number>();
  for (const fi of net.nearest(to, s.maxCandidates + 8, s.maxDistanceKm, () => true)) {
    listed.add(fi);
    const f = net.facilities[fi]!;
    const km = round(distanceKm(f, to));
    if (considered.has(fi) || plan.picks.some((p) => p.facility === f.id)) note(fi, km);
    else notes.push({ facility: f.id, km, excluded: s.eligible(f, order) ?? (net.capacity[fi]! <= 0 ? 'no capacity left today' : 'beyond the nearest candidates') });
  }
  // farther candidates: the nearest DCs, and facilities the plan uses because they hold what the nearest could not give
  for (const fi of [...considered, ...plan.picks.map((p) => net.indexOf(p.facility)!)]) {
    if (listed.has(fi)) continue;
    listed.add(fi);
    note(fi, round(distanceKm(net.facilities[fi]!, to)));
  }
  return notes;
}

/** The batch path's effort: what the live allocator and `dom allocate` run (docs/BENCHMARKS.md measures it). */
export const BATCH_EFFORT = { priceRounds: 4, improveRounds: 5 } as const;

export interface BatchOptions {
  /**
   * Improvement rounds after the rank-order pass (default BATCH_EFFORT's; 0 is the single-order
   * path): each moves the orders in the way of orders that cost far more than they would alone,
   * re-plans each order against what the others hold, then reassigns the units of each SKU some
   * facility ran out of among the lines that hold them (stock moves). No order's fill ever drops.
   * Rounds stop early when one changes nothing.
   */
  improveRounds?: number;
  /**
   * Price rounds before the improvement rounds (default BATCH_EFFORT's when improveRounds is not
   * given, else 0): shadow prices on capacity and stock, from the demand each order would make alone
   * at the current prices (a subgradient step on the Lagrangian dual), then a rank-order pass at
   * those prices; the cheapest pass is kept (see priceRounds for how fill weighs).
   */
  priceRounds?: number;
  /** Step of the price rounds, in cost per unit at 100% over-demand (default 1). */
  priceStep?: number;
  /** Stock moves in the improvement rounds (default true): see `reassign`. */
  stockMoves?: boolean;
  explain?: boolean;
}

function filledOf(p: OrderPlan): number {
  let s = 0;
  for (const x of p.picks) s += x.qty;
  return s;
}

/** Units of the ordered SKUs themselves (not substitutes). */
function primaryOf(p: OrderPlan): number {
  let s = 0;
  for (const x of p.picks) if (!x.substitute) s += x.qty;
  return s;
}

/**
 * Whether `alt` may replace `old` for an order: it fills no fewer units, and no fewer of the ordered
 * SKUs (a substitute only for what the ordered SKU cannot fill, whoever else moved).
 */
function keepsFill(alt: OrderPlan, old: OrderPlan): boolean {
  return filledOf(alt) >= filledOf(old) && primaryOf(alt) >= primaryOf(old);
}

/** Allocate orders in rank order, then improve the batch. Returns plans in rank order. */
export function allocateBatch(net: Network, orders: SourcingOrder[], strategyFor: (o: SourcingOrder) => SourcingStrategy, substitutesOf: (sku: string) => readonly string[], opts: BatchOptions = {}): OrderPlan[] {
  const ranked = [...orders].sort(compareRank);
  const strategies = ranked.map((o) => strategyFor(o));
  const rounds = opts.improveRounds ?? BATCH_EFFORT.improveRounds;
  const pRounds = opts.priceRounds ?? (opts.improveRounds === undefined ? BATCH_EFFORT.priceRounds : 0);
  const start = rounds > 0 || pRounds > 0 ? net.clone() : null;
  const geos = ranked.map((o, i) => geoOf(net, o, strategies[i]!));
  let plans = ranked.map((o, i) => planOrder(net, o, strategies[i]!, substitutesOf, geos[i]!));
  if (start && pRounds > 0) {
    const prices = priceRounds(start, ranked, strategies, geos, plans, substitutesOf, pRounds, opts.priceStep ?? 1);
    if (prices) {
      for (const p of plans) release(net, p);
      net.prices = prices;
      try {
        plans = ranked.map((o, i) => planOrder(net, o, strategies[i]!, substitutesOf, geos[i]!));
      } finally {
        net.prices = null;
      }
    }
  }
  if (start) {
    const batch: Batch = { net, start, ranked, strategies, geos, plans, substitutesOf, ideal: null, at: null, atSku: null, dirty: null };
    for (let r = 0; r < rounds; r++) {
      const moved = eject(batch);
      const replanned = replanEach(batch);
      const swapped = opts.stockMoves === false ? false : reassign(batch);
      if (!moved && !replanned && !swapped) break;
    }
  }
  if (opts.explain) {
    for (let i = 0; i < ranked.length; i++) explainPlan(net, ranked[i]!, strategies[i]!, plans[i]!);
  }
  return plans;
}

function totalsOf(plans: OrderPlan[]): { cost: number; filled: number; primary: number } {
  let cost = 0;
  let filled = 0;
  let primary = 0;
  for (const p of plans) {
    cost += p.cost;
    filled += filledOf(p);
    primary += primaryOf(p);
  }
  return { cost, filled, primary };
}

/**
 * Subgradient rounds on shadow prices of capacity and stock: each round plans every order alone
 * against the untouched network at the current prices, raises the price where that demand exceeds
 * what there is (lowers it where it falls short), and runs a rank-order pass at the new prices. Each
 * pass serves orders in rank order, fill first, so none inverts priority; prices change which of an
 * order's equally filling plans is cheapest, and so what is left for the orders after it, which can
 * move a unit of fill between orders. Passes are compared by cost plus UNFILLED_WEIGHT per unit less
 * filled than `plans` (the pass at no prices), and none may fill fewer units of the ordered SKUs,
 * beyond the units it fills fewer of in all (no substitute takes an ordered SKU's place). The
 * prices of the best pass, or null when none beats `plans`.
 */
function priceRounds(start: Network, ranked: SourcingOrder[], strategies: SourcingStrategy[], geos: Geo[], plans: OrderPlan[], substitutesOf: (sku: string) => readonly string[], rounds: number, step0: number): Prices | null {
  const n = start.facilities.length;
  const prices: Prices = { cap: new Float64Array(n), stock: [] };
  const base = totalsOf(plans);
  let bestScore = base.cost;
  let bestPrices: Prices | null = null;
  const dCap = new Float64Array(n);
  const dStock: (Float64Array | undefined)[] = [];
  for (let k = 1; k <= rounds; k++) {
    dCap.fill(0);
    for (const d of dStock) d?.fill(0);
    start.prices = prices;
    try {
      for (let i = 0; i < ranked.length; i++) {
        const p = planOrder(start, ranked[i]!, strategies[i]!, substitutesOf, geos[i]!);
        const r = refsOf(p);
        for (let j = 0; j < p.picks.length; j++) {
          const fi = r.fis[j]!;
          const id = r.skus[j]!;
          const q = p.picks[j]!.qty;
          dCap[fi] = dCap[fi]! + q;
          const d = (dStock[id] ??= new Float64Array(n));
          d[fi] = d[fi]! + q;
        }
        release(start, p);
      }
    } finally {
      start.prices = null;
    }
    const step = step0 / Math.sqrt(k);
    for (let fi = 0; fi < n; fi++) {
      const cap = start.capacity[fi]!;
      const v = prices.cap[fi]! + (step * (dCap[fi]! - cap)) / Math.max(1, cap);
      prices.cap[fi] = v > 0 ? v : 0;
    }
    for (let id = 0; id < dStock.length; id++) {
      const d = dStock[id];
      const sp = prices.stock[id];
      if (!d && !sp) continue;
      const row = start.rowAt(id);
      const out = (prices.stock[id] ??= new Float64Array(n));
      for (let fi = 0; fi < n; fi++) {
        const dem = d ? d[fi]! : 0;
        if (dem === 0 && out[fi] === 0) continue;
        const v = out[fi]! + (step * (dem - row[fi]!)) / Math.max(1, row[fi]!);
        out[fi] = v > 0 ? v : 0;
      }
    }
    // a feasible pass at these prices
    const trial = start.clone();
    trial.prices = prices;
    const tp = ranked.map((o, i) => planOrder(trial, o, strategies[i]!, substitutesOf, geos[i]!));
    // fill first: a unit less filled weighs UNFILLED_WEIGHT; units of the ordered SKUs drop no more than fill does
    const t = totalsOf(tp);
    const sc = t.cost + UNFILLED_WEIGHT * (base.filled - t.filled);
    if (t.primary - base.primary >= Math.min(0, t.filled - base.filled) && sc < bestScore - 1e-6) {
      bestScore = sc;
      bestPrices = { cap: prices.cap.slice(), stock: prices.stock.map((x) => x?.slice()) };
    }
  }
  return bestPrices;
}

interface Batch {
  net: Network;
  /** the network before the batch: what each order would get alone */
  start: Network;
  ranked: SourcingOrder[];
  strategies: SourcingStrategy[];
  geos: Geo[];
  plans: OrderPlan[];
  substitutesOf: (sku: string) => readonly string[];
  /** each order's plan against the untouched network, and its fill-first score */
  ideal: { plan: OrderPlan; score: number }[] | null;
  /** facility index → orders with picks there, and (SKU id × facilities + facility) → orders with that SKU there */
  at: Set<number>[] | null;
  atSku: Map<number, Set<number>> | null;
  /** SKU ids whose users' plans changed since the last stock moves (null: all) */
  dirty: Set<number> | null;
}

/** Fill first: a unit of fill outweighs any cost. */
const UNFILLED_WEIGHT = 1000;
function score(p: OrderPlan): number {
  let u = 0;
  for (const x of p.unfilled) u += x.qty;
  return p.cost + UNFILLED_WEIGHT * u;
}

function replan(b: Batch, i: number): OrderPlan {
  return planOrder(b.net, b.ranked[i]!, b.strategies[i]!, b.substitutesOf, b.geos[i]!);
}

/** Re-plan each order against what the others hold; keep the new plan when it fills more or costs less. */
function replanEach(b: Batch): boolean {
  let improved = false;
  for (let i = 0; i < b.ranked.length; i++) {
    const old = b.plans[i]!;
    if (old.picks.length === 0) continue;
    release(b.net, old);
    const alt = replan(b, i);
    const oldFilled = filledOf(old);
    const altFilled = filledOf(alt);
    if (keepsFill(alt, old) && (altFilled > oldFilled || alt.cost < old.cost - 1e-9)) {
      setPlan(b, i, alt);
      improved = true;
    } else {
      release(b.net, alt);
      retake(b.net, old);
    }
  }
  return improved;
}

/** SKUs with at most this many orders using them in the batch have their units reassigned (reassign). */
const REASSIGN_MAX_ORDERS = 400;
/** Facilities per line in the reassignment beyond those its units came from: the cheapest for it. */
const REASSIGN_ARCS = 32;
/** scratch: one line's possible facilities in the reassignment */
const arcOpts: { f: number; cost: number; was: boolean }[] = [];
/** Whether pick k of plan p is one of demand d's units (the same line, as the ordered SKU or a substitute alike). */
function ofDemand(p: OrderPlan, k: number, d: Demand): boolean {
  const x = p.picks[k]!;
  return x.line === d.line && x.substitute === d.substitute;
}

/**
 * Stock moves: for each SKU some facility has run out of, the units the batch took of it are
 * reassigned among the lines that took them (each line keeps its units of that SKU, so no fill
 * changes hands, and rank is not in play) by a min-cost flow over the facilities they came from and
 * those the orders already ship from: a unit costs its handling, plus the shipment, spread over the
 * units it could carry, where the order does not already ship from that facility. Kept when the
 * plans' own costs (a shipment per facility) add up to less.
 */
function reassign(b: Batch): boolean {
  const { net, plans } = b;
  const users = new Map<number, number[]>();
  for (let i = 0; i < plans.length; i++) {
    const r = refsOf(plans[i]!);
    for (let k = 0; k < r.skus.length; k++) {
      const id = r.skus[k]!;
      let l = users.get(id);
      if (!l) users.set(id, (l = []));
      if (l[l.length - 1] !== i) l.push(i);
    }
  }
  let improved = false;
  const dirty = b.dirty;
  b.dirty = new Set();
  for (const [id, orders] of users) {
    if (orders.length < 2 || orders.length > REASSIGN_MAX_ORDERS || (dirty && !dirty.has(id))) continue;
    const row = net.rowAt(id);
    let contested = false;
    for (const i of orders) {
      const r = refsOf(plans[i]!);
      for (let k = 0; k < r.skus.length && !contested; k++) if (r.skus[k] === id && (row[r.fis[k]!]! <= 0 || net.capacity[r.fis[k]!]! <= 0)) contested = true;
      if (contested) break;
    }
    if (contested && reassignSku(b, id, orders)) improved = true;
  }
  return improved;
}

interface Demand {
  i: number;
  line: number;
  substitute: boolean;
  qty: number;
}

function reassignSku(b: Batch, id: number, orders: number[]): boolean {
  const { net, plans } = b;
  const row = net.rowAt(id);
  const sku = (() => {
    for (const i of orders) {
      const r = refsOf(plans[i]!);
      for (let k = 0; k < r.skus.length; k++) if (r.skus[k] === id) return plans[i]!.picks[k]!.sku;
    }
    return '';
  })();
  // the lines' units of this SKU, released
  const demands: Demand[] = [];
  const facs: number[] = [];
  for (const i of orders) {
    const p = plans[i]!;
    const r = refsOf(p);
    for (let k = 0; k < p.picks.length; k++) {
      if (r.skus[k] !== id) continue;
      const x = p.picks[k]!;
      let d = demands.find((e) => e.i === i && e.line === x.line && e.substitute === x.substitute);
      if (!d) demands.push((d = { i, line: x.line, substitute: x.substitute, qty: 0 }));
      d.qty += x.qty;
      net.giveAt(r.fis[k]!, id, x.qty);
      if (!facs.includes(r.fis[k]!)) facs.push(r.fis[k]!);
    }
  }
  // and the facilities the orders already ship from, where they hold the SKU
  for (const i of orders) {
    const r = refsOf(plans[i]!);
    for (let k = 0; k < r.fis.length; k++) if (r.skus[k] !== id && row[r.fis[k]!]! > 0 && !facs.includes(r.fis[k]!)) facs.push(r.fis[k]!);
  }
  const D = demands.length;
  const F = facs.length;
  const flow = new MinCostFlow(D + F + 1);
  const sink = D + F;
  let total = 0;
  let current = 0;
  let bound = 0;
  const arcs: { d: number; f: number; e: number }[] = [];
  for (let d = 0; d < D; d++) {
    const dm = demands[d]!;
    total += dm.qty;
    const o = b.ranked[dm.i]!;
    const s = b.strategies[dm.i]!;
    const geo = b.geos[dm.i]!;
    const line = o.lines.find((l) => l.line === dm.line);
    const r = refsOf(plans[dm.i]!);
    // arcs to the cheapest few facilities, and always to those the line's units came from (the old assignment stays feasible)
    arcOpts.length = 0;
    for (let f = 0; f < F; f++) {
      const fi = facs[f]!;
      const fac = net.facilities[fi]!;
      let oldQ = 0;
      let ships = false;
      for (let k = 0; k < r.fis.length; k++) {
        if (r.fis[k] !== fi) continue;
        if (r.skus[k] !== id) ships = true;
        else if (ofDemand(plans[dm.i]!, k, dm)) oldQ += plans[dm.i]!.picks[k]!.qty;
      }
      const was = oldQ > 0;
      if (!was) {
        if (line?.exclude?.includes(fac.id)) continue;
        setQuery(net, o, s, geo.memo);
        if (!eligibleQ(fi)) continue;
      }
      const c = cand(net, o, s, geo.to!, fi);
      if (!was && c.km > s.maxDistanceKm) continue;
      const carry = Math.max(1, Math.min(dm.qty, row[fi]!, net.capacity[fi]!));
      const unit = c.unit + (ships ? 0 : c.ship / carry);
      arcOpts.push({ f, cost: unit, was });
      current += oldQ * unit;
    }
    arcOpts.sort((x, y) => x.cost - y.cost);
    if (arcOpts.length > 0) bound += dm.qty * arcOpts[0]!.cost;
    let kept = 0;
    for (const a of arcOpts) {
      if (!a.was && kept >= REASSIGN_ARCS) continue;
      if (!a.was) kept++;
      arcs.push({ d, f: a.f, e: flow.add(d, D + a.f, dm.qty, a.cost) });
    }
  }
  for (let f = 0; f < F; f++) flow.add(D + f, sink, Math.max(0, Math.min(row[facs[f]!]!, net.capacity[facs[f]!]!)), 0);
  // nothing to gain when every line is at its cheapest facility already
  const sent = current - bound > 1e-6 ? flow.run(Array.from(demands.keys()), demands.map((x) => x.qty), sink) : -1;
  // the new plans: each order's other picks as they were, its units of this SKU as the flow sends them
  const touched = new Map<number, { line: number; fi: number; qty: number; substitute: boolean }[]>();
  if (sent === total) {
    for (const a of arcs) {
      const q = flow.flowOn(a.e);
      if (q <= 0) continue;
      const dm = demands[a.d]!;
      let l = touched.get(dm.i);
      if (!l) touched.set(dm.i, (l = []));
      l.push({ line: dm.line, fi: facs[a.f]!, qty: q, substitute: dm.substitute });
    }
  }
  const news = new Map<number, OrderPlan>();
  let delta = 0;
  if (sent === total)
    for (const i of orders) {
      const old = plans[i]!;
      const alt = withSkuPicks(net, b.ranked[i]!, b.strategies[i]!, b.geos[i]!, old, id, sku, touched.get(i) ?? []);
      news.set(i, alt);
      delta += alt.cost - old.cost;
    }
  if (sent === total && delta < -1e-6) {
    for (const [i, alt] of news) {
      const r = refsOf(alt);
      for (let k = 0; k < r.fis.length; k++) if (r.skus[k] === id) net.takeAt(r.fis[k]!, id, alt.picks[k]!.qty);
      setPlan(b, i, alt);
    }
    return true;
  }
  for (const i of orders) {
    const p = plans[i]!;
    const r = refsOf(p);
    for (let k = 0; k < r.fis.length; k++) if (r.skus[k] === id) net.takeAt(r.fis[k]!, id, p.picks[k]!.qty);
  }
  return false;
}

/** A copy of `old` whose picks of SKU id are `picks`, with its cost worked out afresh. */
function withSkuPicks(net: Network, order: SourcingOrder, s: SourcingStrategy, geo: Geo, old: OrderPlan, id: number, sku: string, picks: { line: number; fi: number; qty: number; substitute: boolean }[]): OrderPlan {
  const r = refsOf(old);
  const plan: OrderPlan = { order: old.order, picks: [], unfilled: old.unfilled, cost: 0, shipments: 0, explanation: old.explanation };
  const refs: Refs = { net, fis: [], skus: [] };
  for (let k = 0; k < old.picks.length; k++) {
    if (r.skus[k] === id) continue;
    plan.picks.push(old.picks[k]!);
    refs.fis.push(r.fis[k]!);
    refs.skus.push(r.skus[k]!);
  }
  for (const x of picks) {
    plan.picks.push({ line: x.line, facility: net.facilities[x.fi]!.id, sku, qty: x.qty, substitute: x.substitute });
    refs.fis.push(x.fi);
    refs.skus.push(id);
  }
  const seen: number[] = [];
  let cost = 0;
  for (let k = 0; k < plan.picks.length; k++) {
    const fi = refs.fis[k]!;
    const c = cand(net, order, s, geo.to!, fi);
    if (!seen.includes(fi)) {
      seen.push(fi);
      cost += c.ship;
    }
    cost += plan.picks[k]!.qty * c.unit;
  }
  plan.cost = cost;
  plan.shipments = seen.length;
  (plan as Indexed)[REFS] = refs;
  return plan;
}

/** Min-cost flow on a small graph: the reassignment's. */
class MinCostFlow {
  private readonly to: number[] = [];
  private readonly cap: number[] = [];
  private readonly cost: number[] = [];
  private readonly next: number[] = [];
  private readonly head: Int32Array;
  private readonly flow0: number[] = [];
  constructor(readonly n: number) {
    this.head = new Int32Array(n).fill(-1);
  }
  /** An arc u→v; returns its index (for flowOn). */
  add(u: number, v: number, cap: number, cost: number): number {
    const e = this.to.length;
    this.to.push(v, u);
    this.cap.push(cap, 0);
    this.flow0.push(cap, 0);
    this.cost.push(cost, -cost);
    this.next.push(this.head[u]!, this.head[v]!);
    this.head[u] = e;
    this.head[v] = e + 1;
    return e;
  }
  flowOn(e: number): number {
    return this.flow0[e]! - this.cap[e]!;
  }
  /**
   * Send `supply[k]` units from each node `from[k]` to t, at least cost for all of them together:
   * successive shortest paths, one source at a time, by Dijkstra on costs reduced by node potentials
   * (every arc's cost is ≥ 0 to begin with), stopping once t is settled. The units sent.
   */
  run(from: number[], supply: number[], t: number): number {
    const { n, to, cap, cost, next, head } = this;
    const dist = new Float64Array(n);
    const pot = new Float64Array(n);
    const prev = new Int32Array(n);
    const done = new Uint8Array(n);
    const heap = new MinHeap(n);
    let sent = 0;
    for (let k = 0; k < from.length; k++) {
      const s = from[k]!;
      let left = supply[k]!;
      while (left > 0) {
        dist.fill(Infinity);
        prev.fill(-1);
        done.fill(0);
        heap.size = 0;
        dist[s] = 0;
        heap.push(s, 0);
        while (heap.size > 0) {
          const u = heap.pop();
          if (done[u]) continue;
          done[u] = 1;
          if (u === t) break;
          const du = dist[u]!;
          for (let e = head[u]!; e >= 0; e = next[e]!) {
            if (cap[e]! <= 0) continue;
            const v = to[e]!;
            if (done[v]) continue;
            const rc = cost[e]! + pot[u]! - pot[v]!;
            const nd = du + (rc > 0 ? rc : 0);
            if (nd < dist[v]! - 1e-12) {
              dist[v] = nd;
              prev[v] = e;
              heap.push(v, nd);
            }
          }
        }
        const dt = dist[t]!;
        if (dt === Infinity) return sent;
        // potentials stay valid: settled nodes move by their distance, the rest by t's
        for (let v = 0; v < n; v++) pot[v] = pot[v]! + (done[v] ? dist[v]! : dt);
        let push = left;
        for (let v = t; v !== s; v = to[prev[v]! ^ 1]!) push = Math.min(push, cap[prev[v]!]!);
        for (let v = t; v !== s; v = to[prev[v]! ^ 1]!) {
          cap[prev[v]!] = cap[prev[v]!]! - push;
          cap[prev[v]! ^ 1] = cap[prev[v]! ^ 1]! + push;
        }
        left -= push;
        sent += push;
      }
    }
    return sent;
  }
}

/** A binary min-heap of (node, key), stale entries allowed (the caller skips nodes already done). */
class MinHeap {
  private ids: Int32Array;
  private keys: Float64Array;
  size = 0;
  constructor(n: number) {
    this.ids = new Int32Array(Math.max(4, n));
    this.keys = new Float64Array(Math.max(4, n));
  }
  push(id: number, key: number): void {
    if (this.size === this.ids.length) {
      const ids = new Int32Array(this.size * 2);
      ids.set(this.ids);
      this.ids = ids;
      const keys = new Float64Array(this.size * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.keys[p]! <= key) break;
      this.ids[i] = this.ids[p]!;
      this.keys[i] = this.keys[p]!;
      i = p;
    }
    this.ids[i] = id;
    this.keys[i] = key;
  }
  pop(): number {
    const top = this.ids[0]!;
    const n = --this.size;
    const id = this.ids[n]!;
    const key = this.keys[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.keys[c + 1]! < this.keys[c]!) c++;
      if (this.keys[c]! >= key) break;
      this.ids[i] = this.ids[c]!;
      this.keys[i] = this.keys[c]!;
      i = c;
    }
    this.ids[i] = id;
    this.keys[i] = key;
    return top;
  }
}

function refsOf(p: OrderPlan): Refs {
  return (p as Indexed)[REFS]!;
}

function index(b: Batch, i: number, on: boolean) {
  const refs = refsOf(b.plans[i]!);
  const n = b.net.facilities.length;
  for (let k = 0; k < refs.fis.length; k++) {
    const fi = refs.fis[k]!;
    const key = refs.skus[k]! * n + fi;
    let set = b.atSku!.get(key);
    if (on) {
      b.at![fi]!.add(i);
      if (!set) b.atSku!.set(key, (set = new Set()));
      set.add(i);
    } else {
      b.at![fi]!.delete(i);
      set?.delete(i);
    }
  }
}

function setPlan(b: Batch, i: number, p: OrderPlan) {
  if (b.dirty) {
    for (const id of refsOf(b.plans[i]!).skus) b.dirty.add(id);
    for (const id of refsOf(p).skus) b.dirty.add(id);
  }
  if (b.at) index(b, i, false);
  b.plans[i] = p;
  if (b.at) index(b, i, true);
}

/** Orders displaced at most per move, and whole-order targets tried per order. */
const EJECT_GROUP = 4;
const EJECT_TARGETS = 2;
/** An order is worth a move when it costs this much more than it would alone. */
const EJECT_MIN_REGRET = 0.5;

/**
 * Ejection moves: for each order that costs more than it would alone (most first), find the orders
 * holding what it would use (the stock or capacity at the facilities of its plan alone, or of a
 * facility that could serve all of it), re-plan it first and then them, and keep the result when no
 * order's fill drops and the total is lower.
 */
function eject(b: Batch): boolean {
  const { net, ranked } = b;
  if (!b.ideal) {
    b.ideal = ranked.map((o, i) => {
      const plan = planOrder(b.start, o, b.strategies[i]!, b.substitutesOf, b.geos[i]!);
      release(b.start, plan);
      return { plan, score: score(plan) };
    });
  }
  if (!b.at) {
    b.at = net.facilities.map(() => new Set<number>());
    b.atSku = new Map();
    for (let i = 0; i < b.plans.length; i++) index(b, i, true);
  }
  const ideal = b.ideal;
  const regret = (i: number) => score(b.plans[i]!) - ideal[i]!.score;
  const todo: number[] = [];
  for (let i = 0; i < ranked.length; i++) if (regret(i) > EJECT_MIN_REGRET) todo.push(i);
  const r0 = todo.map(regret);
  const order = todo.map((_, k) => k).sort((x, y) => r0[y]! - r0[x]! || todo[x]! - todo[y]!);
  let moved = false;
  for (const k of order) {
    const i = todo[k]!;
    if (regret(i) <= EJECT_MIN_REGRET) continue;
    // the facilities of its plan alone
    const needs = new Map<number, Map<number, number>>();
    const ip = ideal[i]!.plan;
    const irefs = refsOf(ip);
    for (let k = 0; k < ip.picks.length; k++) {
      const fi = irefs.fis[k]!;
      const id = irefs.skus[k]!;
      let m = needs.get(fi);
      if (!m) needs.set(fi, (m = new Map()));
      m.set(id, (m.get(id) ?? 0) + ip.picks[k]!.qty);
    }
    if (tryEject(b, i, needs)) {
      moved = true;
      continue;
    }
    // a facility that could have served all of it, cheapest first
    const o = ranked[i]!;
    if (!b.geos[i]!.to) continue;
    let total = 0;
    for (const l of o.lines) total += l.qty;
    const whole = candidates(b.start, o, b.strategies[i]!, b.geos[i]!).filter(
      (c) => b.start.capacity[c.fi]! >= total && !(needs.size === 1 && needs.has(c.fi)) && o.lines.every((l) => b.start.available(c.fi, l.sku) >= l.qty && !l.exclude?.includes(net.facilities[c.fi]!.id)),
    );
    whole.sort((p, q) => p.ship + total * p.unit - (q.ship + total * q.unit));
    let done = false;
    for (const c of whole.slice(0, EJECT_TARGETS)) {
      const m = new Map<number, number>();
      for (const l of o.lines) {
        const id = net.skuId(l.sku);
        if (id >= 0) m.set(id, (m.get(id) ?? 0) + l.qty);
      }
      if (tryEject(b, i, new Map([[c.fi, m]]))) {
        moved = done = true;
        break;
      }
    }
    if (!done && mergeShipments(b, i)) moved = true;
  }
  return moved;
}

/**
 * One shipment fewer: the units an order ships from its smallest shipments, from one of its other
 * facilities instead (the largest first), moving the orders in the way there. At most EJECT_TARGETS tries.
 */
function mergeShipments(b: Batch, i: number): boolean {
  const cur = b.plans[i]!;
  const r = refsOf(cur);
  const fis: number[] = [];
  const units: number[] = [];
  for (let k = 0; k < r.fis.length; k++) {
    let j = fis.indexOf(r.fis[k]!);
    if (j < 0) {
      j = fis.push(r.fis[k]!) - 1;
      units.push(0);
    }
    units[j] = units[j]! + cur.picks[k]!.qty;
  }
  if (fis.length < 2) return false;
  const bySize = fis.map((_, j) => j).sort((x, y) => units[x]! - units[y]! || fis[x]! - fis[y]!);
  let tries = 0;
  for (const g of bySize) {
    for (let t = bySize.length - 1; t >= 0; t--) {
      const f = bySize[t]!;
      if (f === g) continue;
      if (tries++ >= EJECT_TARGETS) return false;
      const m = new Map<number, number>();
      for (let k = 0; k < r.fis.length; k++) if (r.fis[k] === fis[f] || r.fis[k] === fis[g]) m.set(r.skus[k]!, (m.get(r.skus[k]!) ?? 0) + cur.picks[k]!.qty);
      if (tryEject(b, i, new Map([[fis[f]!, m]]))) return true;
    }
  }
  return false;
}

// scratch for pickBlockers: the best few so far (smallest at the facility first)
const bA: number[] = [];
const bRel: number[] = [];
const bSize: number[] = [];

/**
 * Add to `group` the orders of `holding` (other than i) that are smallest at facility fi, as many as
 * cover `short` units of SKU id there (id −1: any SKU, for capacity), at most EJECT_GROUP in all.
 */
function pickBlockers(b: Batch, i: number, group: number[], holding: Set<number> | undefined, fi: number, id: number, short: number) {
  if (!holding || group.length >= EJECT_GROUP) return;
  const room = EJECT_GROUP - group.length;
  bA.length = 0;
  bRel.length = 0;
  bSize.length = 0;
  for (const a of holding) {
    if (a === i || group.includes(a)) continue;
    const p = b.plans[a]!;
    const r = refsOf(p);
    let rel = 0;
    let size = 0;
    for (let k = 0; k < p.picks.length; k++) {
      if (r.fis[k] !== fi) continue;
      size += p.picks[k]!.qty;
      if (id < 0 || r.skus[k] === id) rel += p.picks[k]!.qty;
    }
    if (rel <= 0) continue;
    // keep the `room` smallest (by size, then rank)
    let j = bA.length;
    if (j >= room) {
      if (size > bSize[j - 1]! || (size === bSize[j - 1]! && a > bA[j - 1]!)) continue;
      j--;
    } else {
      bA.push(a);
      bRel.push(rel);
      bSize.push(size);
    }
    while (j > 0 && (bSize[j - 1]! > size || (bSize[j - 1]! === size && bA[j - 1]! > a))) {
      bA[j] = bA[j - 1]!;
      bRel[j] = bRel[j - 1]!;
      bSize[j] = bSize[j - 1]!;
      j--;
    }
    bA[j] = a;
    bRel[j] = rel;
    bSize[j] = size;
    // nothing is smaller than one unit
    if (bA.length >= room && bSize[bA.length - 1] === 1) break;
  }
  let got = 0;
  for (let k = 0; k < bA.length && got < short; k++) {
    group.push(bA[k]!);
    got += bRel[k]!;
  }
}

/** Give order i what `needs` lists (facility → SKU id → units) by moving the orders in its way; true when kept. */
function tryEject(b: Batch, i: number, needs: Map<number, Map<number, number>>): boolean {
  const { net, plans } = b;
  const n = net.facilities.length;
  const cur = plans[i]!;
  const crefs = refsOf(cur);
  // per shortage, the orders in the way that are smallest at that facility (the easiest to move), enough to cover it
  const group: number[] = [];
  for (const [fi, bySku] of needs) {
    let want = 0;
    for (const q of bySku.values()) want += q;
    let mineCap = 0;
    for (let k = 0; k < cur.picks.length; k++) if (crefs.fis[k] === fi) mineCap += cur.picks[k]!.qty;
    const capShort = want - (net.capacity[fi]! + mineCap);
    for (const [id, q] of bySku) {
      let mine = 0;
      for (let k = 0; k < cur.picks.length; k++) if (crefs.fis[k] === fi && crefs.skus[k] === id) mine += cur.picks[k]!.qty;
      const short = q - (net.rowAt(id)[fi]! + mine);
      if (short > 0) pickBlockers(b, i, group, b.atSku!.get(id * n + fi), fi, id, short);
    }
    if (capShort > 0) pickBlockers(b, i, group, b.at![fi], fi, -1, capShort);
  }
  if (group.length === 0) return false;
  group.sort((p, q) => p - q);
  const members = [i, ...group];
  for (const m of members) release(net, plans[m]!);
  const news: OrderPlan[] = members.map((m) => replan(b, m));
  let ok = true;
  let delta = 0;
  members.forEach((m, k) => {
    const df = filledOf(news[k]!) - filledOf(plans[m]!);
    if (!keepsFill(news[k]!, plans[m]!)) ok = false;
    delta += news[k]!.cost - plans[m]!.cost - UNFILLED_WEIGHT * df;
  });
  if (ok && delta < -1e-6) {
    members.forEach((m, k) => setPlan(b, m, news[k]!));
    return true;
  }
  for (const p of news) release(net, p);
  for (const m of members) retake(net, plans[m]!);
  return false;
}
