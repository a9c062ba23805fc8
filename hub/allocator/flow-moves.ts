/**
 * Flow moves: every unit the batch filled is sourced afresh at once, by a min-cost flow over the
 * lines' demands × (facility, SKU) stock × facility capacity, each line keeping exactly its units of
 * each SKU (so no fill changes hands and rank order is not in play). Where capacity binds (DCs full,
 * stores scarce), which orders get a full facility's units is one decision over the whole batch: an
 * order near the DC should have them, an order that can be served from nearby stores should not,
 * and the rank-order pass (each order in turn, the first taking what is cheapest for it) cannot see
 * that; neither can the moves of a few orders at a time.
 *
 * A shipment's cost is per order and facility, not per unit, so the flow prices it per unit by
 * dynamic slope scaling: the shipment spread over the units the order takes there in the last
 * solution (over all its units where it took none), re-solved a few times with the new spreads. A
 * solution is kept when the plans' own costs (a shipment per facility) add up to less than before.
 */
import type { BatchState } from './batch-state.js';
import { setPlan } from './batch-state.js';
import { ArcSelection } from './arc-selection.js';
import { FlowArcs, MinHeap } from './min-cost-flow.js';
import { refsOf, setRefs, type Candidate, type OrderPlan, type PickRefs } from './plan.js';
import { candidate } from './reach.js';

/** Slope-scaling solves per flow move. */
const FLOW_ITERATIONS = 3;
/** Batches of more orders than this are not moved (a solve takes about 0.3 ms per order at 1,000 orders, more beyond). */
const FLOW_MAX_ORDERS = 2_000;
/** The share of the facilities a batch ships from that must have no capacity left for a flow move. */
const FLOW_MIN_FULL_SHARE = 0.25;
/** Arcs per demand beyond the facilities it uses now: the cheapest for it. */
const ARCS = 4;

/** A line's units of one SKU (the ordered one or a substitute). */
interface Demand {
  i: number;
  line: number;
  sku: number;
  name: string;
  substitute: boolean;
  qty: number;
}

/**
 * Source every filled unit of the batch afresh (see the file comment); true when the batch's cost
 * dropped. Each order may use the facilities of its reach (its nearest eligible, its nearest DCs,
 * its pickup store) and those it uses now.
 */
export function flowMove(b: BatchState, iterations = FLOW_ITERATIONS): boolean {
  const { net, plans, ranked } = b;
  const n = net.facilities.length;
  if (plans.length > FLOW_MAX_ORDERS) return false;
  // only where capacity binds: a share of the facilities the batch ships from have none left
  const used = new Uint8Array(n);
  let from = 0;
  let full = 0;
  for (const p of plans)
    for (const fi of refsOf(p).fis)
      if (!used[fi]) {
        used[fi] = 1;
        from++;
        if (net.capacity[fi]! <= 0) full++;
      }
  if (full < FLOW_MIN_FULL_SHARE * from) return false;
  // the demands, per order its candidate facilities, and its units per facility now
  const demands: Demand[] = [];
  const firstDemand: number[] = [];
  const cands: Candidate[][] = [];
  const orders: number[] = [];
  let before = 0;
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i]!;
    const reach = b.reaches[i]!;
    if (p.picks.length === 0 || !reach.to) continue;
    orders.push(i);
    before += p.cost;
    firstDemand[i] = demands.length;
    const r = refsOf(p);
    for (let k = 0; k < p.picks.length; k++) {
      const x = p.picks[k]!;
      let d = firstDemand[i]!;
      while (d < demands.length && !(demands[d]!.line === x.line && demands[d]!.sku === r.skus[k] && demands[d]!.substitute === x.substitute)) d++;
      if (d === demands.length) demands.push({ i, line: x.line, sku: r.skus[k]!, name: x.sku, substitute: x.substitute, qty: 0 });
      demands[d]!.qty += x.qty;
    }
    const cs: Candidate[] = [];
    const add = (c: Candidate) => {
      for (const e of cs) if (e.fi === c.fi) return;
      cs.push(c);
    };
    if (reach.pickup) add(reach.pickup);
    for (const c of reach.near) add(c);
    for (const c of reach.dcs) add(c);
    for (const fi of r.fis) if (!cs.some((c) => c.fi === fi)) add(candidate(net, ranked[i]!, b.strategies[i]!, reach.to, fi));
    cands[i] = cs;
  }
  if (orders.length < 2) return false;
  for (const i of orders) {
    const p = plans[i]!;
    const r = refsOf(p);
    for (let k = 0; k < p.picks.length; k++) net.giveAt(r.fis[k]!, r.skus[k]!, p.picks[k]!.qty);
  }
  // units per (order, facility) of the solution the spreads come from: the plans as they are
  let units = new Map<number, number>();
  for (const i of orders) {
    const p = plans[i]!;
    const r = refsOf(p);
    for (let k = 0; k < p.picks.length; k++) {
      const key = i * n + r.fis[k]!;
      units.set(key, (units.get(key) ?? 0) + p.picks[k]!.qty);
    }
  }
  const totalOf = (i: number) => {
    let t = 0;
    for (let d = firstDemand[i]!; d < demands.length && demands[d]!.i === i; d++) t += demands[d]!.qty;
    return t;
  };
  let best: Map<number, OrderPlan> | null = null;
  let bestCost = before - 1e-6;
  for (let it = 0; it < iterations; it++) {
    const sol = solve(b, demands, cands, units, totalOf);
    if (!sol) break;
    const { plansOf, cost, next } = sol;
    if (cost < bestCost) {
      bestCost = cost;
      best = plansOf;
    }
    units = next;
  }
  if (!best) {
    for (const i of orders) {
      const p = plans[i]!;
      const r = refsOf(p);
      for (let k = 0; k < p.picks.length; k++) net.takeAt(r.fis[k]!, r.skus[k]!, p.picks[k]!.qty);
    }
    return false;
  }
  for (const i of orders) {
    const p = best.get(i)!;
    const r = refsOf(p);
    for (let k = 0; k < p.picks.length; k++) net.takeAt(r.fis[k]!, r.skus[k]!, p.picks[k]!.qty);
    if (Math.abs(p.cost - plans[i]!.cost) > 1e-9 || p.picks.length !== plans[i]!.picks.length) setPlan(b, i, p);
  }
  return true;
}

/** One solve at the given spreads: the plans it makes, their cost, and its units per (order, facility). */
function solve(
  b: BatchState,
  demands: Demand[],
  cands: Candidate[][],
  units: Map<number, number>,
  totalOf: (i: number) => number,
): { plansOf: Map<number, OrderPlan>; cost: number; next: Map<number, number> } | null {
  const { net, ranked } = b;
  const n = net.facilities.length;
  const D = demands.length;
  // nodes: demands, then stock nodes (facility, SKU), then facilities (as met), then the sink
  const stockNode = new Map<number, number>();
  const facNode = new Map<number, number>();
  const g = new Graph();
  g.grow(D);
  const arcsOf: { d: number; fi: number; e: number }[] = [];
  for (let d = 0; d < D; d++) {
    const dm = demands[d]!;
    const o = ranked[dm.i]!;
    const line = o.lines.find((l) => l.line === dm.line);
    const row = net.rowAt(dm.sku);
    b.ws.query(net, o, b.strategies[dm.i]!, b.reaches[dm.i]!.memo);
    const top = (b.ws.flowArcTop ??= new ArcSelection(ARCS));
    top.clear();
    const cs = cands[dm.i]!;
    for (let k = 0; k < cs.length; k++) {
      const c = cs[k]!;
      if (row[c.fi]! <= 0 || net.capacity[c.fi]! <= 0) continue;
      const had = units.get(dm.i * n + c.fi) ?? 0;
      const isNow = refsOf(b.plans[dm.i]!).fis.includes(c.fi);
      if (!isNow && (line?.exclude?.includes(net.facilities[c.fi]!.id) || !b.ws.eligible(c.fi))) continue;
      top.offer(k, c.unit + c.ship / (had > 0 ? had : dm.qty), isNow || had > 0);
    }
    top.forEach((k, unit) => {
      const c = cs[k]!;
      const key = dm.sku * n + c.fi;
      let sn = stockNode.get(key);
      if (sn === undefined) {
        sn = g.node();
        stockNode.set(key, sn);
        let fn = facNode.get(c.fi);
        if (fn === undefined) facNode.set(c.fi, (fn = g.node()));
        g.add(sn, fn, row[c.fi]!, 0);
      }
      arcsOf.push({ d, fi: c.fi, e: g.add(d, sn, dm.qty, unit) });
    });
  }
  const sink = g.node();
  for (const [fi, fn] of facNode) g.add(fn, sink, net.capacity[fi]!, 0);
  let sent = 0;
  let want = 0;
  for (let d = 0; d < D; d++) {
    want += demands[d]!.qty;
    sent += g.send(d, demands[d]!.qty, sink);
  }
  if (sent < want) return null;
  // the plans: per order, its demands' units where the flow sends them
  const picks = new Map<number, { d: number; fi: number; qty: number }[]>();
  const next = new Map<number, number>();
  for (const a of arcsOf) {
    const q = g.flowOn(a.e);
    if (q <= 0) continue;
    const i = demands[a.d]!.i;
    let l = picks.get(i);
    if (!l) picks.set(i, (l = []));
    l.push({ d: a.d, fi: a.fi, qty: q });
    next.set(i * n + a.fi, (next.get(i * n + a.fi) ?? 0) + q);
  }
  const plansOf = new Map<number, OrderPlan>();
  let cost = 0;
  for (const [i, ps] of picks) {
    const old = b.plans[i]!;
    const plan: OrderPlan = { order: old.order, picks: [], unfilled: old.unfilled, cost: 0, shipments: 0, explanation: old.explanation };
    const refs: PickRefs = { net, fis: [], skus: [] };
    const seen: number[] = [];
    for (const x of ps) {
      const dm = demands[x.d]!;
      plan.picks.push({ line: dm.line, facility: net.facilities[x.fi]!.id, sku: dm.name, qty: x.qty, substitute: dm.substitute });
      refs.fis.push(x.fi);
      refs.skus.push(dm.sku);
      const c = cands[i]!.find((e) => e.fi === x.fi)!;
      if (!seen.includes(x.fi)) {
        seen.push(x.fi);
        plan.cost += c.ship;
      }
      plan.cost += x.qty * c.unit;
    }
    plan.shipments = seen.length;
    setRefs(plan, refs);
    plansOf.set(i, plan);
    cost += plan.cost;
  }
  return { plansOf, cost, next };
}

/**
 * A min-cost flow graph grown as nodes are met, with successive shortest paths (Dijkstra on reduced
 * costs) whose work is proportional to the nodes each search reaches, not to the graph: potentials
 * move only for the nodes a search settled (by their distance less the sink's, the same reduced
 * costs as moving every other node by the sink's), and only the nodes it touched are reset.
 */
class Graph extends FlowArcs<number[]> {
  private dist: number[] = [];
  private pot: number[] = [];
  private prev: number[] = [];
  private done: Uint8Array = new Uint8Array(0);
  private touched: number[] = [];

  constructor() {
    super([]);
  }

  grow(k: number): void {
    for (let j = 0; j < k; j++) this.node();
  }

  node(): number {
    this.head.push(-1);
    this.dist.push(Infinity);
    this.pot.push(0);
    this.prev.push(-1);
    return this.head.length - 1;
  }

  /** Send up to `supply` units from s to t along successive shortest paths; the units sent. */
  send(s: number, supply: number, t: number): number {
    const { to, cap, cost, next, head, dist, pot, prev, touched } = this;
    if (this.done.length < head.length) this.done = new Uint8Array(2 * head.length);
    const done = this.done;
    const heap = new MinHeap(64);
    let left = supply;
    let sent = 0;
    while (left > 0) {
      dist[s] = 0;
      touched.push(s);
      heap.size = 0;
      heap.push(s, 0);
      const settled: number[] = [];
      while (heap.size > 0) {
        const u = heap.pop();
        if (done[u]) continue;
        done[u] = 1;
        settled.push(u);
        if (u === t) break;
        const du = dist[u]!;
        for (let e = head[u]!; e >= 0; e = next[e]!) {
          if (cap[e]! <= 0) continue;
          const v = to[e]!;
          if (done[v]) continue;
          const rc = cost[e]! + pot[u]! - pot[v]!;
          const nd = du + (rc > 0 ? rc : 0);
          if (nd < dist[v]! - 1e-12) {
            if (dist[v] === Infinity) touched.push(v);
            dist[v] = nd;
            prev[v] = e;
            heap.push(v, nd);
          }
        }
      }
      const dt = dist[t]!;
      let push = 0;
      if (dt !== Infinity) {
        for (const v of settled) pot[v] = pot[v]! + dist[v]! - dt;
        push = left;
        for (let v = t; v !== s; v = to[prev[v]! ^ 1]!) push = Math.min(push, cap[prev[v]!]!);
        for (let v = t; v !== s; v = to[prev[v]! ^ 1]!) {
          cap[prev[v]!] = cap[prev[v]!]! - push;
          cap[prev[v]! ^ 1] = cap[prev[v]! ^ 1]! + push;
        }
      }
      for (const v of touched) {
        dist[v] = Infinity;
        prev[v] = -1;
        done[v] = 0;
      }
      touched.length = 0;
      if (push <= 0) break;
      left -= push;
      sent += push;
    }
    return sent;
  }
}
