/**
 * The allocator's pure core. A `Network` holds facilities (in a spatial index), available units
 * per facility and SKU (safety stock already taken off) and capacity left. `allocateOrder` finds a
 * cheap whole-order assignment: a set-cover greedy over the nearest eligible facilities (cost per
 * unit covered, so a shipment already paid for pulls more lines to it: fewer splits), checked
 * against every single-facility fill and improved by dropping facilities; substitutes only for
 * what the ordered SKUs could not fill. `allocateBatch` serves orders in rank order (no priority
 * inversion: a lower-ranked order only sees what higher-ranked ones left) and then improves the
 * batch by re-planning each order against what the others hold.
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

export class Network {
  readonly facilities: SourcingFacility[];
  private readonly byId = new Map<string, number>();
  private readonly index: KDBush;
  /** sku → available units per facility index */
  private readonly stock = new Map<string, Int32Array>();
  readonly capacity: Float64Array;

  constructor(facilities: SourcingFacility[]) {
    this.facilities = facilities;
    this.capacity = new Float64Array(facilities.length);
    this.index = new KDBush(Math.max(1, facilities.length));
    facilities.forEach((f, i) => {
      this.byId.set(f.id, i);
      this.index.add(f.lon, f.lat);
      this.capacity[i] = f.capacity;
    });
    if (facilities.length === 0) this.index.add(0, 0);
    this.index.finish();
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  available(fi: number, sku: string): number {
    return this.stock.get(sku)?.[fi] ?? 0;
  }

  setAvailable(facility: string | number, sku: string, units: number): void {
    const fi = typeof facility === 'number' ? facility : this.byId.get(facility);
    if (fi === undefined) return;
    let arr = this.stock.get(sku);
    if (!arr) this.stock.set(sku, (arr = new Int32Array(this.facilities.length)));
    arr[fi] = Math.max(0, Math.floor(units));
  }

  take(fi: number, sku: string, q: number): void {
    const arr = this.stock.get(sku)!;
    arr[fi] = arr[fi]! - q;
    this.capacity[fi] = this.capacity[fi]! - q;
  }

  give(fi: number, sku: string, q: number): void {
    let arr = this.stock.get(sku);
    if (!arr) this.stock.set(sku, (arr = new Int32Array(this.facilities.length)));
    arr[fi] = arr[fi]! + q;
    this.capacity[fi] = this.capacity[fi]! + q;
  }

  /** Eligible facilities nearest `point` first, at most `k`. */
  nearest(point: { lat: number; lon: number }, k: number, maxKm: number, ok: (fi: number) => boolean): number[] {
    if (this.facilities.length === 0) return [];
    return around(this.index, point.lon, point.lat, k, maxKm, ok);
  }
}

function destination(net: Network, order: SourcingOrder): { lat: number; lon: number } | null {
  if (order.delivery === 'pickup') {
    const fi = order.pickupFacility === undefined ? undefined : net.indexOf(order.pickupFacility);
    return fi === undefined ? null : net.facilities[fi]!;
  }
  return order.shipTo ?? null;
}

function candidates(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }): Cand[] {
  const fis = net.nearest(to, s.maxCandidates, s.maxDistanceKm, (fi) => net.capacity[fi]! > 0 && s.eligible(net.facilities[fi]!, order) === null);
  if (order.delivery === 'pickup') {
    // the pickup store itself is always a candidate when it may hand over
    const pf = net.indexOf(order.pickupFacility!);
    if (pf !== undefined && !fis.includes(pf) && s.eligible(net.facilities[pf]!, order) === null) fis.unshift(pf);
  }
  return fis.map((fi) => {
    const f = net.facilities[fi]!;
    const km = distanceKm(f, to);
    return { fi, km, ship: s.shipmentCost(f, km, order), unit: s.unitCost(f) };
  });
}

interface Want {
  line: number;
  sku: string;
  qty: number;
  substitute: boolean;
  exclude?: readonly string[];
}

interface Solution {
  picks: { c: Cand; w: number; qty: number }[];
  filled: number;
  cost: number;
}

/** Set-cover greedy: repeatedly take the facility with the lowest incremental cost per unit covered. */
function greedy(net: Network, wants: Want[], cands: Cand[], paid: ReadonlySet<number>): Solution {
  const rem = wants.map((w) => w.qty);
  const drawn = new Map<string, number>(); // `${fi}|${sku}` → units planned here
  const capUsed = new Map<number, number>();
  const used = new Set<number>(paid);
  const picks: Solution['picks'] = [];
  let cost = 0;
  let filled = 0;
  const room = (c: Cand, wi: number) => {
    const w = wants[wi]!;
    if (w.exclude?.includes(net.facilities[c.fi]!.id)) return 0;
    return Math.max(0, net.available(c.fi, w.sku) - (drawn.get(`${c.fi}|${w.sku}`) ?? 0));
  };
  for (;;) {
    let best: Cand | null = null;
    let bestScore = Infinity;
    let bestUnits = 0;
    for (const c of cands) {
      let capLeft = net.capacity[c.fi]! - (capUsed.get(c.fi) ?? 0);
      if (capLeft <= 0) continue;
      let u = 0;
      for (let wi = 0; wi < wants.length && capLeft > 0; wi++) {
        if (rem[wi]! <= 0) continue;
        const t = Math.min(rem[wi]!, room(c, wi), capLeft);
        u += t;
        capLeft -= t;
      }
      if (u <= 0) continue;
      const score = ((used.has(c.fi) ? 0 : c.ship) + u * c.unit) / u;
      if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && u > bestUnits)) {
        best = c;
        bestScore = score;
        bestUnits = u;
      }
    }
    if (!best) break;
    let capLeft = net.capacity[best.fi]! - (capUsed.get(best.fi) ?? 0);
    for (let wi = 0; wi < wants.length && capLeft > 0; wi++) {
      if (rem[wi]! <= 0) continue;
      const t = Math.min(rem[wi]!, room(best, wi), capLeft);
      if (t <= 0) continue;
      picks.push({ c: best, w: wi, qty: t });
      rem[wi] = rem[wi]! - t;
      capLeft -= t;
      const key = `${best.fi}|${wants[wi]!.sku}`;
      drawn.set(key, (drawn.get(key) ?? 0) + t);
      filled += t;
      cost += t * best.unit;
    }
    capUsed.set(best.fi, net.capacity[best.fi]! - capLeft);
    if (!used.has(best.fi)) cost += best.ship;
    used.add(best.fi);
  }
  return { picks, filled, cost };
}

/** One facility taking the whole order, when one can. */
function singles(net: Network, wants: Want[], cands: Cand[]): Solution | null {
  const total = wants.reduce((s, w) => s + w.qty, 0);
  let best: Solution | null = null;
  for (const c of cands) {
    if (net.capacity[c.fi]! < total) continue;
    const need = new Map<string, number>();
    let ok = true;
    for (const w of wants) {
      if (w.exclude?.includes(net.facilities[c.fi]!.id)) ok = false;
      need.set(w.sku, (need.get(w.sku) ?? 0) + w.qty);
    }
    for (const [sku, q] of need) if (net.available(c.fi, sku) < q) ok = false;
    if (!ok) continue;
    const cost = c.ship + total * c.unit;
    if (!best || cost < best.cost) best = { picks: wants.map((w, wi) => ({ c, w: wi, qty: w.qty })), filled: total, cost };
  }
  return best;
}

const better = (a: Solution, b: Solution | null) => !b || a.filled > b.filled || (a.filled === b.filled && a.cost < b.cost - 1e-9);

function bestPlan(net: Network, wants: Want[], cands: Cand[], paid: ReadonlySet<number>): Solution {
  let best = greedy(net, wants, cands, paid);
  if (paid.size === 0) {
    const one = singles(net, wants, cands);
    if (one && better(one, best)) best = one;
  }
  // drop-one improvement: a split whose worst shipment can go is often cheaper without it
  for (let round = 0; round < 3; round++) {
    const usedFis = [...new Set(best.picks.map((p) => p.c.fi))];
    if (usedFis.length < 2) break;
    let improved = false;
    for (const fi of usedFis) {
      const alt = greedy(net, wants, cands.filter((c) => c.fi !== fi), paid);
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
  const cands = candidates(net, order, strategy, to);
  const wants: Want[] = order.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty, substitute: false, exclude: l.exclude }));
  const first = bestPlan(net, wants, cands, new Set());
  const picked = [...first.picks];
  let cost = first.cost;
  const paid = new Set(picked.map((p) => p.c.fi));
  commit(net, wants, first.picks);

  // substitutes, in the item's order of preference, for what the ordered SKU could not fill
  const remaining = new Map(order.lines.map((l) => [l.line, l.qty]));
  for (const p of first.picks) remaining.set(wants[p.w]!.line, remaining.get(wants[p.w]!.line)! - p.qty);
  const subWants: Want[] = [];
  for (const l of order.lines) {
    let rem = remaining.get(l.line)!;
    if (rem <= 0 || !l.allowSubstitutes) continue;
    for (const alt of substitutesOf(l.sku)) {
      if (rem <= 0) break;
      const w: Want = { line: l.line, sku: alt, qty: rem, substitute: true, exclude: l.exclude };
      const sol = greedy(net, [w], cands, paid);
      if (sol.filled === 0) continue;
      for (const p of sol.picks) p.w = subWants.length;
      subWants.push(w);
      commit(net, subWants, sol.picks);
      for (const p of sol.picks) paid.add(p.c.fi);
      picked.push(...sol.picks.map((p) => ({ ...p, w: -1 - (subWants.length - 1) })));
      cost += sol.cost;
      rem -= sol.filled;
      plan.explanation.substitutions.push(`line ${l.line}: ${sol.filled} × ${alt} for ${l.sku}`);
    }
    remaining.set(l.line, rem);
  }

  const want = (w: number) => (w >= 0 ? wants[w]! : subWants[-1 - w]!);
  const perFacility = new Map<number, { units: number; c: Cand }>();
  for (const p of picked) {
    const w = want(p.w);
    plan.picks.push({ line: w.line, facility: net.facilities[p.c.fi]!.id, sku: w.sku, qty: p.qty, substitute: w.substitute });
    const e = perFacility.get(p.c.fi) ?? { units: 0, c: p.c };
    e.units += p.qty;
    perFacility.set(p.c.fi, e);
  }
  plan.unfilled = [...remaining].filter(([, q]) => q > 0).map(([line, qty]) => ({ line, qty }));
  plan.shipments = perFacility.size;
  plan.cost = cost;
  if (opts.explain) explainPlan(net, order, strategy, plan);
  return plan;
}

function commit(net: Network, wants: Want[], picks: Solution['picks']) {
  for (const p of picks) net.take(p.c.fi, wants[p.w]!.sku, p.qty);
}

/** Return a plan's units to the network (for re-planning). */
export function release(net: Network, plan: OrderPlan): void {
  for (const p of plan.picks) net.give(net.indexOf(p.facility)!, p.sku, p.qty);
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
    plan.explanation.candidates = explainCandidates(net, order, s, to, cands, wants);
    const units = new Map<string, number>();
    for (const p of plan.picks) units.set(p.facility, (units.get(p.facility) ?? 0) + p.qty);
    plan.explanation.chosen = [...units].map(([id, u]) => {
      const f = net.facilities[net.indexOf(id)!]!;
      const km = distanceKm(f, to);
      return { facility: id, units: u, km: round(km), cost: round(s.shipmentCost(f, km, order) + u * s.unitCost(f)) };
    });
  } finally {
    for (const p of plan.picks) net.take(net.indexOf(p.facility)!, p.sku, p.qty);
  }
}

function explainCandidates(net: Network, order: SourcingOrder, s: SourcingStrategy, to: { lat: number; lon: number }, cands: Cand[], wants: Want[]): CandidateNote[] {
  const notes: CandidateNote[] = [];
  const considered = new Set(cands.map((c) => c.fi));
  for (const fi of net.nearest(to, s.maxCandidates + 8, s.maxDistanceKm, () => true)) {
    const f = net.facilities[fi]!;
    const km = round(distanceKm(f, to));
    if (!considered.has(fi)) {
      notes.push({ facility: f.id, km, excluded: s.eligible(f, order) ?? (net.capacity[fi]! <= 0 ? 'no capacity left today' : 'beyond the nearest candidates') });
      continue;
    }
    const units = wants.reduce((sum, w) => sum + Math.min(w.qty, w.exclude?.includes(f.id) ? 0 : net.available(fi, w.sku)), 0);
    const excl = wants.every((w) => w.exclude?.includes(f.id)) ? 'came up short on this order before' : undefined;
    notes.push({ facility: f.id, km, units, ...(excl ? { excluded: excl } : {}) });
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
  for (let round = 0; round < (opts.improveRounds ?? 1); round++) {
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
        for (const p of old.picks) net.take(net.indexOf(p.facility)!, p.sku, p.qty);
      }
    }
    if (!improved) break;
  }
  if (opts.explain) {
    for (let i = 0; i < ranked.length; i++) explainPlan(net, ranked[i]!, strategyFor(ranked[i]!), plans[i]!);
  }
  return plans;
}
