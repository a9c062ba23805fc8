/**
 * Fill first, provably: after the rank-order pass, a max-flow check over lines × facilities and a
 * repair, so that no unit stays unfilled that some assignment respecting capacity, stock (safety
 * stock already off), eligibility, excluded facilities and the distance limit could fill.
 *
 * The flow network: source → demand (a line's units of one SKU) → stock node (facility, SKU)
 * (available units) → facility node (capacity left) → sink. The batch's plans are a flow in it.
 * For each line with units unfilled, in rank order, augmenting paths are searched (breadth first,
 * in the residual graph) from its demand of the ordered SKU, then of each substitute in the item's
 * order of preference when the line allows them. An augmenting path moves units of other lines
 * from one facility to another (a line whose unit of a sold-out SKU is taken finds it elsewhere; a
 * line at a facility whose capacity is spent ships from another), but never takes a unit of fill
 * from any line: so no order is filled at a higher-ranked one's expense, and lines are served in
 * rank order. When no augmenting path is left from any unfilled line, the fill is maximal: by
 * max-flow/min-cut, no assignment fills more (a line without a path stays without one however the
 * others are augmented, so one pass in rank order suffices).
 *
 * It costs nothing where every unit is filled, and little where a SKU is sold out network-wide (no
 * stock node of it has units left, so no path can start: checked before any search).
 */
import { distanceKm } from '../../shared/geo.js';
import type { BatchState } from './batch-state.js';
import { setPlan } from './batch-state.js';
import { refsOf, setRefs, type OrderPlan, type PickRefs } from './plan.js';
import { candidate } from './reach.js';
import { EARTH_RADIUS_KM } from './facility-index.js';

const HALF_CIRCUMFERENCE_KM = Math.PI * EARTH_RADIUS_KM;
/**
 * Facilities per line in the flow network: the nearest that may serve it and hold its SKU (with
 * those it already has units at). The bench's optimum (scripts/bench/highs.ts) lets a line use its
 * 25 nearest facilities and the 5 nearest holders of its SKU: a subset of these for each SKU.
 */
export const REPAIR_ARCS = 32;

/** What the check found: units unfilled before and after the repair, and the lines it moved. */
export interface FillCheck {
  unfilledBefore: number;
  unfilledAfter: number;
  /** units the repair filled (= before − after) */
  repaired: number;
  /** augmenting paths found, and lines whose units moved to another facility on the way */
  paths: number;
  moved: number;
  /** substitute units given back for a unit of the ordered SKU */
  swapped: number;
  /** units a higher-ranked line took from a lower-ranked one (rank order: the initial pass's candidate lists had missed them) */
  taken: number;
  /** arcs of the flow network the searches examined */
  arcs: number;
  /**
   * Whether the check ran to the end: then the fill is proved maximal (no augmenting path left).
   * False when the work budget (BatchOptions.fillRepairBudget) ran out first.
   */
  complete: boolean;
  /** time the check and repair took */
  ms: number;
}

interface Demand {
  /** order (rank index) */
  i: number;
  line: number;
  sku: number;
  substitute: boolean;
  /** units per facility index */
  at: Map<number, number>;
}

type Where = 'demand' | 'stock' | 'facility';

/**
 * Repair the batch's fill (see the file comment); the plans that change are replaced through
 * setPlan, their costs worked out afresh. Returns what it found.
 */
export function repairFill(b: BatchState, budget = Infinity): FillCheck {
  const t0 = performance.now();
  const check = fillRepair(b, budget);
  check.ms = performance.now() - t0;
  return check;
}

function fillRepair(b: BatchState, budget: number): FillCheck {
  const { net, plans, ranked } = b;
  const n = net.facilities.length;
  let unfilledBefore = 0;
  for (const p of plans) for (const u of p.unfilled) unfilledBefore += u.qty;
  const check: FillCheck = {
    unfilledBefore,
    unfilledAfter: unfilledBefore,
    repaired: 0,
    paths: 0,
    moved: 0,
    swapped: 0,
    taken: 0,
    arcs: 0,
    complete: true,
    ms: 0,
  };
  if (unfilledBefore === 0) return check;

  // whether a SKU has units left anywhere: without, no path can start from a demand of it
  const anyLeft = (sku: number): boolean => {
    const row = net.rowAt(sku);
    for (const fi of net.holdersOf(sku)) if (row[fi]! > 0) return true;
    return false;
  };
  // the lines with units unfilled, in rank order, and the SKUs that could fill them: the ordered one first, then each substitute
  interface Work {
    i: number;
    line: number;
    qty: number;
    sku: string;
    skus: { sku: number; substitute: boolean; name: string }[];
  }
  const work: Work[] = [];
  const addWork = (i: number, lineNo: number, qty: number, from: number) => {
    if (!b.reaches[i]!.to) return;
    for (let k = from; k < work.length; k++) {
      const w = work[k]!;
      if (w.i === i && w.line === lineNo) {
        w.qty += qty;
        return;
      }
    }
    const line = ranked[i]!.lines.find((l) => l.line === lineNo)!;
    const names = [line.sku, ...(line.allowSubstitutes ? b.substitutesOf(line.sku) : [])];
    const skus = names.map((name, k) => ({ sku: net.skuId(name), substitute: k > 0, name })).filter((x) => x.sku >= 0);
    if (skus.length === 0) return;
    // at its rank: after every order ranked before it
    let at = work.length;
    while (at > from && work[at - 1]!.i > i) at--;
    work.splice(at, 0, { i, line: lineNo, qty, sku: line.sku, skus });
  };
  for (let i = 0; i < plans.length; i++) for (const u of plans[i]!.unfilled) addWork(i, u.line, u.qty, 0);
  if (work.length === 0) return check;
  // lines with substitute units whose ordered SKU has units left somewhere
  const substituteLines: { i: number; line: number; sku: number }[] = [];
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i]!;
    for (const x of p.picks) {
      if (!x.substitute || substituteLines.some((e) => e.i === i && e.line === x.line)) continue;
      const sku = net.skuId(ranked[i]!.lines.find((l) => l.line === x.line)!.sku);
      if (sku >= 0 && anyLeft(sku)) substituteLines.push({ i, line: x.line, sku });
    }
  }

  // the flow: one demand per (order, line, SKU, substitute or not), with its units per facility
  const demands: Demand[] = [];
  const ofOrder: number[][] = plans.map(() => []);
  /** facility → demands with units there; (SKU × n + facility) → demands of that SKU there (stale entries allowed) */
  const atFacility = new Map<number, number[]>();
  const atStock = new Map<number, number[]>();
  /** per SKU, the facilities the batch took it from */
  const takenAt = new Map<number, Set<number>>();
  /** index demand d's units at fi (call when it had none there: an entry may then be stale, or twice, never missing) */
  const note = (d: number, fi: number) => {
    const dm = demands[d]!;
    let l = atFacility.get(fi);
    if (!l) atFacility.set(fi, (l = []));
    l.push(d);
    const key = dm.sku * n + fi;
    let s = atStock.get(key);
    if (!s) atStock.set(key, (s = []));
    s.push(d);
    let t = takenAt.get(dm.sku);
    if (!t) takenAt.set(dm.sku, (t = new Set()));
    t.add(fi);
  };
  const demand = (i: number, line: number, sku: number, substitute: boolean): number => {
    for (const d of ofOrder[i]!) {
      const dm = demands[d]!;
      if (dm.line === line && dm.sku === sku && dm.substitute === substitute) return d;
    }
    const d = demands.push({ i, line, sku, substitute, at: new Map() }) - 1;
    ofOrder[i]!.push(d);
    return d;
  };
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i]!;
    const r = refsOf(p);
    for (let k = 0; k < p.picks.length; k++) {
      const x = p.picks[k]!;
      const d = demand(i, x.line, r.skus[k]!, x.substitute);
      const fi = r.fis[k]!;
      const dm = demands[d]!;
      const had = dm.at.get(fi) ?? 0;
      dm.at.set(fi, had + x.qty);
      if (had === 0) note(d, fi);
    }
  }

  // per SKU, the facilities a demand of it may reach: those that hold it, and those the batch took it from
  const reachable = new Map<number, number[]>();
  const facilitiesOf = (sku: number): number[] => {
    let l = reachable.get(sku);
    if (!l) {
      const set = new Set<number>(net.holdersOf(sku));
      for (const fi of takenAt.get(sku) ?? []) set.add(fi);
      reachable.set(sku, (l = [...set]));
    }
    return l;
  };
  // per order and facility: may it serve the order (eligibility, distance); per line, its excluded facilities
  const mayServe = new Map<number, Int8Array>();
  const serves = (d: number, fi: number): boolean => {
    const dm = demands[d]!;
    let m = mayServe.get(dm.i);
    if (!m) mayServe.set(dm.i, (m = new Int8Array(n)));
    if (m[fi] === 0) {
      const reach = b.reaches[dm.i]!;
      const s = b.strategies[dm.i]!;
      let ok = reach.to !== null;
      if (ok) {
        b.ws.query(net, ranked[dm.i]!, s, reach.memo);
        // no two points on the earth are farther apart than half its circumference
        ok = b.ws.eligible(fi) && (s.maxDistanceKm >= HALF_CIRCUMFERENCE_KM || distanceKm(net.facilities[fi]!, reach.to!) <= s.maxDistanceKm);
      }
      m[fi] = ok ? 1 : -1;
    }
    if (m[fi] !== 1) return false;
    const line = ranked[dm.i]!.lines.find((l) => l.line === dm.line);
    return !line?.exclude?.includes(net.facilities[fi]!.id);
  };
  // per demand, the facilities it may take units from: the REPAIR_ARCS nearest that may serve it
  // and hold (or held) its SKU, and those it has units at
  const arcLists: (number[] | undefined)[] = [];
  const arcsOf = (d: number): number[] => {
    let l = arcLists[d];
    if (l) return l;
    const dm = demands[d]!;
    const near = net.searchAmong(b.reaches[dm.i]!.to!, [facilitiesOf(dm.sku)], REPAIR_ARCS, b.strategies[dm.i]!.maxDistanceKm, (fi) => serves(d, fi));
    l = near.ids.slice();
    for (const fi of dm.at.keys()) if (!l.includes(fi)) l.push(fi);
    arcLists[d] = l;
    return l;
  };

  // breadth-first search for an augmenting path from demand d0; nodes are keyed: facility f → f,
  // stock (sku, f) → n + sku·n + f, demand d → n + S·n + d. A node a search reached without
  // finding a path can never reach the sink later (an augmenting path only adds arcs between nodes
  // that reach it): such nodes are dead for the rest of the repair.
  const S = net.skuCount;
  const OFF_D = n + S * n;
  const kind = (key: number): Where => (key >= OFF_D ? 'demand' : key < n ? 'facility' : 'stock');
  let parent = new Int32Array(OFF_D + demands.length + 64);
  let seen = new Uint32Array(parent.length);
  let dead = new Uint8Array(parent.length);
  let gen = 0;
  const fit = () => {
    if (OFF_D + demands.length <= parent.length) return;
    const size = OFF_D + 2 * demands.length;
    const p2 = new Int32Array(size);
    p2.set(parent);
    parent = p2;
    const s2 = new Uint32Array(size);
    s2.set(seen);
    seen = s2;
    const d2 = new Uint8Array(size);
    d2.set(dead);
    dead = d2;
  };
  const queue: number[] = [];
  const touched = new Set<number>();
  /**
   * One unit more for demand d0 along an augmenting path to the sink; or, with `below` an order's
   * rank index, along a path that ends by taking one unit from a line of a lower-ranked order
   * (after `below`): its stock, or its capacity. Returns the demand the unit was taken from, or -1
   * (the sink), or null when there is no path. Arcs examined count against the budget.
   */
  const augment = (d0: number, below = -1): number | null => {
    fit();
    const root = OFF_D + d0;
    const steal = below >= 0;
    if (!steal && dead[root]) return null;
    if (check.arcs >= budget) {
      check.complete = false;
      return null;
    }
    if (++gen === 0xffffffff) {
      seen.fill(0);
      gen = 1;
    }
    queue.length = 0;
    parent[root] = -1;
    seen[root] = gen;
    queue.push(root);
    let end = -1;
    let arcs = 0;
    for (let qi = 0; qi < queue.length && end < 0; qi++) {
      const u = queue[qi]!;
      const w = kind(u);
      if (w === 'demand') {
        const d = u - OFF_D;
        const dm = demands[d]!;
        for (const fi of arcsOf(d)) {
          arcs++;
          const v = n + dm.sku * n + fi;
          if (seen[v] === gen || (!steal && dead[v])) continue;
          seen[v] = gen;
          parent[v] = u;
          queue.push(v);
        }
      } else if (w === 'stock') {
        const rest = u - n;
        const sku = Math.floor(rest / n);
        const fi = rest - sku * n;
        // free units here: on to the facility's capacity
        if (net.rowAt(sku)[fi]! > 0 && seen[fi] !== gen && (steal || !dead[fi])) {
          seen[fi] = gen;
          parent[fi] = u;
          if (!steal && net.capacity[fi]! > 0) {
            end = fi;
            break;
          }
          queue.push(fi);
        }
        // or take a unit another line of this SKU has here; that line looks elsewhere
        for (const d of atStock.get(sku * n + fi) ?? []) {
          arcs++;
          const v = OFF_D + d;
          if (seen[v] === gen || (!steal && dead[v]) || (demands[d]!.at.get(fi) ?? 0) <= 0) continue;
          seen[v] = gen;
          parent[v] = u;
          if (steal && demands[d]!.i > below) {
            end = v;
            break;
          }
          queue.push(v);
        }
        if (end >= 0) break;
      } else {
        // a facility whose capacity is spent: a line with units here (any SKU) ships them from elsewhere
        const fi = u;
        for (const d of atFacility.get(fi) ?? []) {
          arcs++;
          const dm = demands[d]!;
          if ((dm.at.get(fi) ?? 0) <= 0) continue;
          if (steal && dm.i > below && seen[OFF_D + d] !== gen) {
            // a lower-ranked line's unit here gives way, freeing capacity
            const v = OFF_D + d;
            const sv = n + dm.sku * n + fi;
            seen[v] = seen[sv] = gen;
            parent[sv] = u;
            parent[v] = sv;
            end = v;
            break;
          }
          const v = n + dm.sku * n + fi;
          if (seen[v] === gen || (!steal && dead[v])) continue;
          seen[v] = gen;
          parent[v] = u;
          queue.push(v);
        }
      }
    }
    check.arcs += arcs;
    if (end < 0) {
      if (!steal) for (const k of queue) dead[k] = 1;
      return null;
    }
    // one unit along the path: demand → stock is a unit placed, stock → demand a unit taken away
    let v = end;
    for (let u = parent[v]!; u !== -1; v = u, u = parent[v]!) {
      if (kind(u) === 'demand' && kind(v) === 'stock') {
        const fi = (v - n) % n;
        const dm = demands[u - OFF_D]!;
        const had = dm.at.get(fi) ?? 0;
        dm.at.set(fi, had + 1);
        net.takeAt(fi, dm.sku, 1);
        if (had === 0) note(u - OFF_D, fi);
        touched.add(dm.i);
      } else if (kind(u) === 'stock' && kind(v) === 'demand') {
        const fi = (u - n) % n;
        const dm = demands[v - OFF_D]!;
        dm.at.set(fi, dm.at.get(fi)! - 1);
        net.giveAt(fi, dm.sku, 1);
        touched.add(dm.i);
        check.moved++;
      }
    }
    check.paths++;
    if (kind(end) !== 'demand') return -1;
    check.moved--; // the last line on the path gave its unit up, it did not move it
    return end - OFF_D;
  };

  // lines with units unfilled, in rank order: more units first (the ordered SKU, then each
  // substitute), then units from lower-ranked orders (whose lines join the work, at their rank)
  const subsAdded = new Map<number, string[]>();
  const substituted = (t: Work, name: string, got: number) => {
    let l = subsAdded.get(t.i);
    if (!l) subsAdded.set(t.i, (l = []));
    l.push(`line ${t.line}: ${got} × ${name} for ${t.sku}`);
  };
  const serveWork = () => {
    for (let k = 0; k < work.length; k++) {
      const t = work[k]!;
      for (const x of t.skus) {
        if (t.qty <= 0) break;
        if (!anyLeft(x.sku)) continue;
        const d = demand(t.i, t.line, x.sku, x.substitute);
        let got = 0;
        while (t.qty > 0 && augment(d) !== null) {
          t.qty--;
          got++;
        }
        if (got > 0 && x.substitute) substituted(t, x.name, got);
      }
      for (const x of t.skus) {
        if (t.qty <= 0) break;
        const d = demand(t.i, t.line, x.sku, x.substitute);
        let got = 0;
        for (let from = augment(d, t.i); from !== null; from = t.qty > 0 ? augment(d, t.i) : null) {
          t.qty--;
          got++;
          check.taken++;
          if (from >= 0) {
            const lost = demands[from]!;
            addWork(lost.i, lost.line, 1, k + 1);
          }
        }
        if (got > 0 && x.substitute) substituted(t, x.name, got);
      }
    }
  };
  serveWork();

  // then lines filled with a substitute, in rank order: a unit of the ordered SKU for each
  // substitute unit where a path finds one (a substitute only for what the ordered SKU cannot
  // fill). The substitute units go back, which can open paths for the lines still short: those
  // searches run once more, afresh
  let swapped = 0;
  for (const sub of substituteLines) {
    const primary = demand(sub.i, sub.line, sub.sku, false);
    for (const d of ofOrder[sub.i]!.slice()) {
      const dm = demands[d]!;
      if (dm.line !== sub.line || !dm.substitute) continue;
      for (const [fi, q] of dm.at) {
        for (let k = 0; k < q && augment(primary) !== null; k++) {
          dm.at.set(fi, dm.at.get(fi)! - 1);
          net.giveAt(fi, dm.sku, 1);
          touched.add(dm.i);
          swapped++;
        }
      }
    }
  }
  check.swapped = swapped;
  if (swapped > 0 && work.some((t) => t.qty > 0)) {
    dead.fill(0);
    serveWork();
  }

  // the plans of the orders whose units moved, rebuilt from their demands
  const byOrder = new Map<number, number[]>();
  for (let d = 0; d < demands.length; d++) {
    const i = demands[d]!.i;
    if (!touched.has(i)) continue;
    let l = byOrder.get(i);
    if (!l) byOrder.set(i, (l = []));
    l.push(d);
  }
  for (const [i, ds] of byOrder)
    setPlan(
      b,
      i,
      rebuilt(
        b,
        i,
        ds.map((d) => demands[d]!),
        subsAdded.get(i) ?? [],
      ),
    );
  let after = 0;
  for (const p of plans) for (const u of p.unfilled) after += u.qty;
  check.unfilledAfter = after;
  check.repaired = unfilledBefore - after;
  return check;
}

/** Order i's plan with its units as the demands hold them (already taken from the network), cost afresh. */
function rebuilt(b: BatchState, i: number, ds: Demand[], substitutions: string[]): OrderPlan {
  const { net } = b;
  const old = b.plans[i]!;
  const order = b.ranked[i]!;
  const s = b.strategies[i]!;
  const to = b.reaches[i]!.to!;
  const plan: OrderPlan = {
    order: old.order,
    picks: [],
    unfilled: [],
    cost: 0,
    shipments: 0,
    explanation: { ...old.explanation, substitutions: [...old.explanation.substitutions, ...substitutions] },
  };
  const refs: PickRefs = { net, fis: [], skus: [] };
  const skuName = new Map<number, string>();
  for (const x of old.picks) skuName.set(net.skuId(x.sku), x.sku);
  const nameOf = (id: number, line: number) => {
    const known = skuName.get(id);
    if (known) return known;
    const l = order.lines.find((x) => x.line === line)!;
    for (const alt of [l.sku, ...b.substitutesOf(l.sku)]) if (net.skuId(alt) === id) return alt;
    return l.sku;
  };
  const got = new Map<number, number>();
  for (const dm of ds)
    for (const [fi, qty] of dm.at) {
      if (qty <= 0) continue;
      plan.picks.push({ line: dm.line, facility: net.facilities[fi]!.id, sku: nameOf(dm.sku, dm.line), qty, substitute: dm.substitute });
      refs.fis.push(fi);
      refs.skus.push(dm.sku);
      got.set(dm.line, (got.get(dm.line) ?? 0) + qty);
    }
  for (const l of order.lines) {
    const left = l.qty - (got.get(l.line) ?? 0);
    if (left > 0) plan.unfilled.push({ line: l.line, qty: left });
  }
  const seen: number[] = [];
  let cost = 0;
  for (let k = 0; k < plan.picks.length; k++) {
    const fi = refs.fis[k]!;
    const c = candidate(net, order, s, to, fi);
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
