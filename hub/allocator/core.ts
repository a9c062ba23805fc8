/**
 * The allocator's pure core. A `Network` holds facilities (with a nearest-neighbour search),
 * available units per facility and SKU (safety stock already taken off) and capacity left.
 * `allocateOrder` finds a cheap whole-order assignment: a set-cover greedy over the nearest eligible
 * facilities (cost per unit covered, so a shipment already paid for pulls more lines to it: fewer
 * splits), checked against every single-facility fill and against every pair of facilities, and
 * improved by dropping facilities; when the nearest facilities cannot fill a line, the nearest
 * eligible facilities that hold its SKU are added (fill first, then cost); substitutes only for
 * what the ordered SKUs could not fill. `allocateBatch` serves orders in rank order (no priority
 * inversion: a lower-ranked order only sees what higher-ranked ones left) and then improves the
 * batch by re-planning each order against what the others hold.
 *
 * Hot paths work on small dense arrays (candidates × SKUs of one order) and interned SKU rows; the
 * nearest-neighbour search is a scan of unit vectors (a dot product per facility) for networks of
 * up to a few thousand facilities, a k-d tree beyond.
 */
import KDBush from 'kdbush';
import { around } from 'geokdbush';
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

interface Cand {
  fi: number;
  km: number;
  ship: number;
  unit: number;
}

const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;
/** Up to this many facilities the nearest search scans them all (a dot product each); beyond, a k-d tree. */
const SCAN_LIMIT = 4096;
/** Facilities holding a line's SKU added when the nearest candidates cannot fill it. */
const EXTRA_HOLDERS = 6;

export class Network {
  readonly facilities: SourcingFacility[];
  private readonly byId = new Map<string, number>();
  private index: KDBush | null = null;
  /** unit vectors, 3 per facility: the nearest facility has the largest dot product */
  private readonly xyz: Float64Array;
  private readonly skuIds = new Map<string, number>();
  /** available units per facility, one row per interned SKU */
  private readonly rows: Int32Array[] = [];
  readonly capacity: Float64Array;

  constructor(facilities: SourcingFacility[]) {
    this.facilities = facilities;
    this.capacity = new Float64Array(facilities.length);
    this.xyz = new Float64Array(facilities.length * 3);
    facilities.forEach((f, i) => {
      this.byId.set(f.id, i);
      this.capacity[i] = f.capacity;
      const la = f.lat * RAD;
      const lo = f.lon * RAD;
      this.xyz[3 * i] = Math.cos(la) * Math.cos(lo);
      this.xyz[3 * i + 1] = Math.cos(la) * Math.sin(lo);
      this.xyz[3 * i + 2] = Math.sin(la);
    });
    if (facilities.length > SCAN_LIMIT) {
      this.index = new KDBush(facilities.length);
      for (const f of facilities) this.index.add(f.lon, f.lat);
      this.index.finish();
    }
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
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

  available(fi: number, sku: string): number {
    return this.row(sku)?.[fi] ?? 0;
  }

  setAvailable(facility: string | number, sku: string, units: number): void {
    const fi = typeof facility === 'number' ? facility : this.byId.get(facility);
    if (fi === undefined) return;
    this.rowFor(sku)[fi] = Math.max(0, Math.floor(units));
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
  }

  /** Eligible facilities nearest `point` first, at most `k`, within `maxKm` great-circle km. */
  nearest(point: { lat: number; lon: number }, k: number, maxKm: number, ok: (fi: number) => boolean): number[] {
    const n = this.facilities.length;
    if (n === 0 || k <= 0) return [];
    if (this.index) return around(this.index, point.lon, point.lat, k, maxKm, ok);
    const la = point.lat * RAD;
    const lo = point.lon * RAD;
    const px = Math.cos(la) * Math.cos(lo);
    const py = Math.cos(la) * Math.sin(lo);
    const pz = Math.sin(la);
    // chord and great-circle distance grow together: rank by the dot product of unit vectors
    const minDot = maxKm / EARTH_RADIUS_KM >= Math.PI ? -2 : Math.cos(maxKm / EARTH_RADIUS_KM);
    const kk = Math.min(k, n);
    const ids: number[] = [];
    const dots: number[] = [];
    let floor = minDot; // a facility must beat this to enter the top k
    const xyz = this.xyz;
    for (let fi = 0; fi < n; fi++) {
      const d = px * xyz[3 * fi]! + py * xyz[3 * fi + 1]! + pz * xyz[3 * fi + 2]!;
      if (d < floor || (d === floor && ids.length >= kk)) continue;
      if (!ok(fi)) continue;
      // insertion into the sorted top k (largest dot first)
      let j = ids.length;
      if (j < kk) {
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
      if (ids.length >= kk) floor = dots[kk - 1]!;
    }
    return ids;
  }
}

function destination(net: Network, order: SourcingOrder): { lat: number; lon: number } | null {
  if (order.delivery === 'pickup') {
    const fi = order.pickupFacility === undefined ? undefined : net.indexOf(order.pickupFacility);
    return fi === undefined ? null : net.facilities[fi]!;
  }
  return order.shipTo ?? null;
}

function cand(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }, fi: number): Cand {
  const f = net.facilities[fi]!;
  const km = distanceKm(f, to);
  return { fi, km, ship: s.shipmentCost(f, km, order), unit: s.unitCost(f) };
}

function candidates(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }): Cand[] {
  const cap = net.capacity;
  const fis = net.nearest(to, s.maxCandidates, s.maxDistanceKm, (fi) => cap[fi]! > 0 && s.eligible(net.facilities[fi]!, order) === null);
  if (order.delivery === 'pickup') {
    // the pickup store itself is always a candidate when it may hand over
    const pf = net.indexOf(order.pickupFacility!);
    if (pf !== undefined && !fis.includes(pf) && s.eligible(net.facilities[pf]!, order) === null) fis.unshift(pf);
  }
  return fis.map((fi) => cand(net, order, s, to, fi));
}

/** The nearest eligible facilities with capacity that hold any of `rows`, not already in `have`. */
function holders(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }, rows: Int32Array[], have: Cand[], k: number): Cand[] {
  if (rows.length === 0) return [];
  const cap = net.capacity;
  const fis = net.nearest(to, k, s.maxDistanceKm, (fi) => {
    if (cap[fi]! <= 0) return false;
    let any = false;
    for (const r of rows) if (r[fi]! > 0) any = true;
    if (!any) return false;
    for (const c of have) if (c.fi === fi) return false;
    return s.eligible(net.facilities[fi]!, order) === null;
  });
  return fis.map((fi) => cand(net, order, s, to, fi));
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
  /** (candidate, want) the want may not use the candidate, or null when no want excludes any */
  readonly excl: Uint8Array | null;
  readonly total: number;
  // scratch
  private readonly r: Float64Array;
  private readonly k: Float64Array;
  private readonly rem: Float64Array;
  private readonly used: Uint8Array;

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
    wants.forEach((w, wi) => {
      let g = skus.indexOf(w.sku);
      if (g < 0) g = skus.push(w.sku) - 1;
      this.group[wi] = g;
      total += w.qty;
      if (w.exclude && w.exclude.length > 0) anyExcl = true;
    });
    this.total = total;
    const G = (this.G = skus.length);
    this.room = new Float64Array(C * G);
    this.cap = new Float64Array(C);
    for (let g = 0; g < G; g++) {
      const row = net.row(skus[g]!);
      if (!row) continue;
      for (let c = 0; c < C; c++) this.room[c * G + g] = row[cands[c]!.fi]!;
    }
    for (let c = 0; c < C; c++) this.cap[c] = net.capacity[cands[c]!.fi]!;
    this.excl = null;
    if (anyExcl) {
      const ex = new Uint8Array(C * W);
      for (let c = 0; c < C; c++) {
        const id = net.facilities[cands[c]!.fi]!.id;
        for (let wi = 0; wi < W; wi++) if (wants[wi]!.exclude?.includes(id)) ex[c * W + wi] = 1;
      }
      this.excl = ex;
    }
    this.r = new Float64Array(C * G);
    this.k = new Float64Array(C);
    this.rem = new Float64Array(W);
    this.used = new Uint8Array(C);
  }

  /** Units candidate c could give now (room r, capacity k, remaining rem), without taking them. */
  private units(c: number): number {
    const { G, W, group, r, rem, excl } = this;
    let capLeft = this.k[c]!;
    if (capLeft <= 0) return 0;
    let u = 0;
    if (W === 1) {
      if (excl && excl[c]) return 0;
      return Math.min(rem[0]!, r[c * G]!, capLeft);
    }
    // wants of one SKU share its room: track what this candidate has given per group so far
    const shared = G < W ? new Float64Array(G) : null;
    for (let wi = 0; wi < W && capLeft > 0; wi++) {
      const need = rem[wi]!;
      if (need <= 0) continue;
      if (excl && excl[c * W + wi]) continue;
      const g = group[wi]!;
      const avail = shared ? r[c * G + g]! - shared[g]! : r[c * G + g]!;
      const t = Math.min(need, avail, capLeft);
      if (t <= 0) continue;
      u += t;
      capLeft -= t;
      if (shared) shared[g] = shared[g]! + t;
    }
    return u;
  }

  /**
   * Set-cover greedy: repeatedly take the candidate with the lowest incremental cost per unit
   * covered. `paid`: candidates whose shipment the order already pays for; `banned`: a candidate
   * left out (for drop-one), or -1; `pair`: when given, only these two candidates are used.
   */
  greedy(paid: Uint8Array | null, banned = -1, pair: [number, number] | null = null): Solution {
    const { C, G, W, group, r, k, rem, used, cands, excl } = this;
    r.set(this.room);
    k.set(this.cap);
    for (let wi = 0; wi < W; wi++) rem[wi] = this.wants[wi]!.qty;
    if (paid) used.set(paid);
    else used.fill(0);
    const sol: Solution = { c: [], w: [], q: [], filled: 0, cost: 0 };
    for (;;) {
      let best = -1;
      let bestScore = Infinity;
      let bestUnits = 0;
      for (let i = 0, n = pair ? 2 : C; i < n; i++) {
        const c = pair ? pair[i]! : i;
        if (c === banned) continue;
        const u = this.units(c);
        if (u <= 0) continue;
        const cd = cands[c]!;
        const score = ((used[c] ? 0 : cd.ship) + u * cd.unit) / u;
        if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && u > bestUnits)) {
          best = c;
          bestScore = score;
          bestUnits = u;
        }
      }
      if (best < 0) break;
      const cd = cands[best]!;
      let capLeft = k[best]!;
      for (let wi = 0; wi < W && capLeft > 0; wi++) {
        if (rem[wi]! <= 0) continue;
        if (excl && excl[best * W + wi]) continue;
        const ri = best * G + group[wi]!;
        const t = Math.min(rem[wi]!, r[ri]!, capLeft);
        if (t <= 0) continue;
        sol.c.push(best);
        sol.w.push(wi);
        sol.q.push(t);
        rem[wi] = rem[wi]! - t;
        r[ri] = r[ri]! - t;
        capLeft -= t;
        sol.filled += t;
        sol.cost += t * cd.unit;
      }
      k[best] = capLeft;
      if (!used[best]) sol.cost += cd.ship;
      used[best] = 1;
    }
    return sol;
  }

  /** One candidate taking every want, when one can; the cheapest such. */
  single(): Solution | null {
    const { C, G, W, group, cands, excl, total } = this;
    const need = new Float64Array(G);
    for (let wi = 0; wi < W; wi++) need[group[wi]!] = need[group[wi]!]! + this.wants[wi]!.qty;
    let best = -1;
    let bestCost = Infinity;
    for (let c = 0; c < C; c++) {
      if (this.cap[c]! < total) continue;
      let ok = true;
      for (let g = 0; g < G && ok; g++) if (this.room[c * G + g]! < need[g]!) ok = false;
      if (excl) for (let wi = 0; wi < W && ok; wi++) if (excl[c * W + wi]) ok = false;
      if (!ok) continue;
      const cd = cands[c]!;
      const cost = cd.ship + total * cd.unit;
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    if (best < 0) return null;
    return { c: this.wants.map(() => best), w: this.wants.map((_, wi) => wi), q: this.wants.map((w) => w.qty), filled: total, cost: bestCost };
  }
}

const better = (a: Solution, b: Solution | null) => !b || a.filled > b.filled || (a.filled === b.filled && a.cost < b.cost - 1e-9);

function distinct(cs: number[]): number[] {
  const out: number[] = [];
  for (const c of cs) if (!out.includes(c)) out.push(c);
  return out;
}

/** The best plan for the board's wants: greedy, single facility, pairs of facilities, drop-one. */
function bestPlan(b: Board, paid: Uint8Array | null): Solution {
  let best = b.greedy(paid);
  const fresh = !paid || !paid.includes(1);
  if (fresh && best.filled > 0) {
    const one = b.single();
    if (one && better(one, best)) best = one;
  }
  // every pair of the facilities that serve the greedy's plan or could: a multi-line order is
  // often cheapest from two facilities that are not the two cheapest per unit
  if (fresh && b.W > 1 && best.filled > 0 && distinct(best.c).length > 1) {
    for (let c1 = 0; c1 < b.C; c1++) {
      for (let c2 = c1 + 1; c2 < b.C; c2++) {
        // a pair cannot beat the best when its two shipments alone cost more
        if (b.cands[c1]!.ship + b.cands[c2]!.ship >= best.cost) continue;
        const alt = b.greedy(null, -1, [c1, c2]);
        if (better(alt, best)) best = alt;
      }
    }
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
  fi: number;
  cand: Cand;
  qty: number;
}

/** Plan one order against the network and commit it (stock and capacity are taken). */
export function allocateOrder(net: Network, order: SourcingOrder, strategy: SourcingStrategy, substitutesOf: (sku: string) => readonly string[], opts: PlanOptions = {}): OrderPlan {
  const to = destination(net, order);
  const plan: OrderPlan = {
    order: order.id,
    picks: [],
    unfilled: [],
    cost: 0,
    shipments: 0,
    explanation: { strategy: strategy.name, candidates: [], chosen: [], substitutions: [] },
  };
  if (!to) {
    plan.unfilled = order.lines.map((l) => ({ line: l.line, qty: l.qty }));
    plan.explanation.candidates.push({ facility: order.pickupFacility ?? '?', km: 0, excluded: 'unknown destination' });
    return plan;
  }
  let cands = candidates(net, order, strategy, to);
  const wants: Want[] = order.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty, substitute: false, exclude: l.exclude }));
  let board = new Board(net, wants, cands);
  let first = bestPlan(board, null);
  if (first.filled < board.total) {
    // the nearest facilities cannot fill it all: add the nearest that hold what is missing
    const missing = missingRows(net, wants, first);
    const extra = holders(net, order, strategy, to, missing, cands, EXTRA_HOLDERS);
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
  let cost = first.cost;
  for (let i = 0; i < first.c.length; i++) {
    const cd = board.cands[first.c[i]!]!;
    const w = wants[first.w[i]!]!;
    net.take(cd.fi, w.sku, first.q[i]!);
    taken.push({ want: w, fi: cd.fi, cand: cd, qty: first.q[i]! });
  }

  // substitutes, in the item's order of preference, for what the ordered SKU could not fill
  if (first.filled < board.total) {
    const remaining = new Map(order.lines.map((l) => [l.line, l.qty]));
    for (const t of taken) remaining.set(t.want.line, remaining.get(t.want.line)! - t.qty);
    for (const l of order.lines) {
      let rem = remaining.get(l.line)!;
      if (rem <= 0 || !l.allowSubstitutes) continue;
      for (const alt of substitutesOf(l.sku)) {
        if (rem <= 0) break;
        const row = net.row(alt);
        if (!row) continue;
        const w: Want = { line: l.line, sku: alt, qty: rem, substitute: true, exclude: l.exclude };
        const paidOf = (cs: Cand[]) => {
          const p = new Uint8Array(cs.length);
          cs.forEach((c, i) => (p[i] = taken.some((t) => t.fi === c.fi) ? 1 : 0));
          return p;
        };
        let sb = new Board(net, [w], cands);
        let sol = sb.greedy(paidOf(cands));
        if (sol.filled < rem) {
          const extra = holders(net, order, strategy, to, [row], cands, EXTRA_HOLDERS);
          if (extra.length > 0) {
            const wider = new Board(net, [w], cands.concat(extra));
            const wsol = wider.greedy(paidOf(wider.cands));
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
          taken.push({ want: w, fi: cd.fi, cand: cd, qty: sol.q[i]! });
        }
        cost += sol.cost;
        rem -= sol.filled;
        plan.explanation.substitutions.push(`line ${l.line}: ${sol.filled} × ${alt} for ${l.sku}`);
      }
      remaining.set(l.line, rem);
    }
    plan.unfilled = [...remaining].filter(([, q]) => q > 0).map(([line, qty]) => ({ line, qty }));
  }

  const shipments = new Set<number>();
  for (const t of taken) {
    plan.picks.push({ line: t.want.line, facility: net.facilities[t.fi]!.id, sku: t.want.sku, qty: t.qty, substitute: t.want.substitute });
    shipments.add(t.fi);
  }
  plan.shipments = shipments.size;
  plan.cost = cost;
  if (opts.explain) explainPlan(net, order, strategy, plan);
  return plan;
}

/** SKU rows of the wants a solution leaves (partly) unfilled. */
function missingRows(net: Network, wants: Want[], sol: Solution): Int32Array[] {
  const got = new Float64Array(wants.length);
  for (let i = 0; i < sol.w.length; i++) got[sol.w[i]!] = got[sol.w[i]!]! + sol.q[i]!;
  const rows: Int32Array[] = [];
  wants.forEach((w, wi) => {
    if (got[wi]! >= w.qty) return;
    const row = net.row(w.sku);
    if (row && !rows.includes(row)) rows.push(row);
  });
  return rows;
}

/** Return a plan's units to the network (for re-planning). */
export function release(net: Network, plan: OrderPlan): void {
  for (const p of plan.picks) net.give(net.indexOf(p.facility)!, p.sku, p.qty);
}

function retake(net: Network, plan: OrderPlan): void {
  for (const p of plan.picks) net.take(net.indexOf(p.facility)!, p.sku, p.qty);
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Fill a plan's explanation: the candidates as they stood for it, and what each chosen facility costs. */
export function explainPlan(net: Network, order: SourcingOrder, s: SourcingStrategy, plan: OrderPlan): void {
  const to = destination(net, order);
  if (!to) return;
  release(net, plan);
  try {
    const cands = candidates(net, order, s, to);
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
    if (!considered.has(fi)) {
      const chosen = plan.picks.some((p) => p.facility === f.id);
      if (chosen) note(fi, km);
      else notes.push({ facility: f.id, km, excluded: s.eligible(f, order) ?? (net.capacity[fi]! <= 0 ? 'no capacity left today' : 'beyond the nearest candidates') });
      continue;
    }
    note(fi, km);
  }
  // farther facilities the plan uses because they hold what the nearest could not give
  for (const id of new Set(plan.picks.map((p) => p.facility))) {
    const fi = net.indexOf(id)!;
    if (!listed.has(fi)) note(fi, round(distanceKm(net.facilities[fi]!, to)));
  }
  return notes;
}

export interface BatchOptions {
  /** Re-plan each order against what the others hold, keeping its fill (batch optimisation). */
  improveRounds?: number;
  explain?: boolean;
}

/** Allocate orders in rank order, then improve the batch. Returns plans in rank order. */
export function allocateBatch(net: Network, orders: SourcingOrder[], strategyFor: (o: SourcingOrder) => SourcingStrategy, substitutesOf: (sku: string) => readonly string[], opts: BatchOptions = {}): OrderPlan[] {
  const ranked = [...orders].sort(compareRank);
  const plans = ranked.map((o) => allocateOrder(net, o, strategyFor(o), substitutesOf, { explain: false }));
  for (let r = 0; r < (opts.improveRounds ?? 1); r++) {
    let improved = false;
    for (let i = 0; i < ranked.length; i++) {
      const old = plans[i]!;
      if (old.picks.length === 0) continue;
      release(net, old);
      const alt = allocateOrder(net, ranked[i]!, strategyFor(ranked[i]!), substitutesOf, { explain: false });
      const oldFilled = old.picks.reduce((s, p) => s + p.qty, 0);
      const altFilled = alt.picks.reduce((s, p) => s + p.qty, 0);
      if (altFilled > oldFilled || (altFilled === oldFilled && alt.cost < old.cost - 1e-9)) {
        plans[i] = alt;
        improved = true;
      } else {
        release(net, alt);
        retake(net, old);
      }
    }
    if (!improved) break;
  }
  if (opts.explain) {
    for (let i = 0; i < ranked.length; i++) explainPlan(net, ranked[i]!, strategyFor(ranked[i]!), plans[i]!);
  }
  return plans;
}
