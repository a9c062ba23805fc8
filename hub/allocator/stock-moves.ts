/**
 * Stock moves: per SKU some facility ran out of, the units the batch took of it are reassigned
 * among the lines holding them by a min-cost flow (min-cost-flow.ts), so that a unit goes where its
 * order already ships from, freeing a shipment. Each line keeps its units of the SKU: no fill
 * changes hands.
 */
import type { BatchState } from './batch-state.js';
import { setPlan } from './batch-state.js';
import { ArcSelection } from './arc-selection.js';
import { MinCostFlow } from './min-cost-flow.js';
import type { Network } from './network.js';
import { refsOf, setRefs, type OrderPlan, type PickRefs } from './plan.js';
import { distanceKm } from '../../shared/geo.js';
import { candidate, type OrderReach } from './reach.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';

/** SKUs with at most this many orders using them in the batch have their units reassigned (reassign). */
const REASSIGN_MAX_ORDERS = 400;
/** Facilities per line in the reassignment beyond those its units came from: the cheapest for it. */
const REASSIGN_ARCS = 32;
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
export function reassign(b: BatchState): boolean {
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

function reassignSku(b: BatchState, id: number, orders: number[]): boolean {
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
    const reach = b.reaches[dm.i]!;
    const line = o.lines.find((l) => l.line === dm.line);
    const r = refsOf(plans[dm.i]!);
    // arcs to the cheapest few facilities, and always to those the line's units came from (the old
    // assignment stays feasible), added cheapest first (ties in facility order)
    const top = (b.ws.arcTop ??= new ArcSelection(REASSIGN_ARCS));
    top.clear();
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
        b.ws.query(net, o, s, reach.memo);
        if (!b.ws.eligible(fi)) continue;
      }
      const km = distanceKm(fac, reach.to!);
      if (!was && km > s.maxDistanceKm) continue;
      const carry = Math.max(1, Math.min(dm.qty, row[fi]!, net.capacity[fi]!));
      const unit = s.unitCost(fac) + (ships ? 0 : s.shipmentCost(fac, km, o) / carry);
      top.offer(f, unit, was);
      current += oldQ * unit;
    }
    if (top.size > 0) bound += dm.qty * top.cheapest();
    top.forEach((f, cost) => arcs.push({ d, f, e: flow.add(d, D + f, dm.qty, cost) }));
  }
  for (let f = 0; f < F; f++) flow.add(D + f, sink, Math.max(0, Math.min(row[facs[f]!]!, net.capacity[facs[f]!]!)), 0);
  // nothing to gain when every line is at its cheapest facility already
  const sent =
    current - bound > 1e-6
      ? flow.run(
          Array.from(demands.keys()),
          demands.map((x) => x.qty),
          sink,
        )
      : -1;
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
      const alt = withSkuPicks(net, b.ranked[i]!, b.strategies[i]!, b.reaches[i]!, old, id, sku, touched.get(i) ?? []);
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
function withSkuPicks(
  net: Network,
  order: SourcingOrder,
  s: SourcingStrategy,
  reach: OrderReach,
  old: OrderPlan,
  id: number,
  sku: string,
  picks: { line: number; fi: number; qty: number; substitute: boolean }[],
): OrderPlan {
  const r = refsOf(old);
  const plan: OrderPlan = { order: old.order, picks: [], unfilled: old.unfilled, cost: 0, shipments: 0, explanation: old.explanation };
  const refs: PickRefs = { net, fis: [], skus: [] };
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
    const c = candidate(net, order, s, reach.to!, fi);
    if (!seen.includes(fi)) {
      seen.push(fi);
      cost += c.ship;
    }
    cost += plan.picks[k]!.qty * c.unit;
  }
  plan.cost = cost;
  plan.shipments = seen.length;
  setRefs(plan, refs);
  return plan;
}
