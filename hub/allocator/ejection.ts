/**
 * Ejection moves: an order that ended far above what it would cost alone gets first claim on what
 * it would use alone (or on one facility that could serve all of it, or one shipment fewer), and
 * the orders in its way are re-planned after it. A move is kept only when every order keeps its
 * fill (no unit of fill changes hands, so rank order is not in play) and the total costs less.
 */
import { replan, setPlan, indexPlan, type BatchState } from './batch-state.js';
import { fillFirstScore, keepsFill, filledOf, refsOf, release, retake, UNFILLED_WEIGHT, type OrderPlan } from './plan.js';
import { planOrder } from './plan-order.js';
import { candidates } from './reach.js';

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
export function eject(b: BatchState): boolean {
  const { net, ranked } = b;
  if (!b.ideal) {
    b.ideal = ranked.map((o, i) => {
      const plan = planOrder(b.ws, b.start, o, b.strategies[i]!, b.substitutesOf, b.reaches[i]!);
      release(b.start, plan);
      return { plan, score: fillFirstScore(plan) };
    });
  }
  if (!b.ordersAt) {
    b.ordersAt = net.facilities.map(() => new Map<number, number>());
    b.ordersAtSku = new Map();
    for (let i = 0; i < b.plans.length; i++) indexPlan(b, i, true);
  }
  const ideal = b.ideal;
  const regret = (i: number) => fillFirstScore(b.plans[i]!) - ideal[i]!.score;
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
    if (!b.reaches[i]!.to) continue;
    let total = 0;
    for (const l of o.lines) total += l.qty;
    const whole = candidates(b.ws, b.start, o, b.strategies[i]!, b.reaches[i]!).filter(
      (c) =>
        b.start.capacity[c.fi]! >= total &&
        !(needs.size === 1 && needs.has(c.fi)) &&
        o.lines.every((l) => b.start.available(c.fi, l.sku) >= l.qty && !l.exclude?.includes(net.facilities[c.fi]!.id)),
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
function mergeShipments(b: BatchState, i: number): boolean {
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

/**
 * Add to `group` the orders of `holding` (other than i) that are smallest at facility fi, as many as
 * cover `short` units there, at most EJECT_GROUP in all. `holding`: order → its units there of the
 * SKU that is short (b.ordersAtSku), or of any SKU when capacity is short (b.ordersAt[fi]).
 */
function pickBlockers(b: BatchState, i: number, group: number[], holding: Map<number, number> | undefined, fi: number, short: number) {
  if (!holding || group.length >= EJECT_GROUP) return;
  const room = EJECT_GROUP - group.length;
  const atFacility = b.ordersAt![fi]!;
  // the best few so far, smallest at the facility first
  const bA = b.ws.blockers;
  const bRel = b.ws.blockerUnits;
  const bSize = b.ws.blockerSize;
  bA.length = 0;
  bRel.length = 0;
  bSize.length = 0;
  for (const [a, rel] of holding) {
    if (a === i || rel <= 0 || group.includes(a)) continue;
    const size = holding === atFacility ? rel : atFacility.get(a)!;
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
function tryEject(b: BatchState, i: number, needs: Map<number, Map<number, number>>): boolean {
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
      if (short > 0) pickBlockers(b, i, group, b.ordersAtSku!.get(id * n + fi), fi, short);
    }
    if (capShort > 0) pickBlockers(b, i, group, b.ordersAt![fi], fi, capShort);
  }
  if (group.length === 0) return false;
  group.sort((p, q) => p - q);
  const members = [i, ...group];
  for (const m of members) release(net, plans[m]!);
  // re-planned in turn; a member that would lose fill sinks the move, so the rest need not be re-planned
  const news: OrderPlan[] = [];
  let ok = true;
  let delta = 0;
  for (const m of members) {
    const alt = replan(b, m);
    news.push(alt);
    if (!keepsFill(alt, plans[m]!)) {
      ok = false;
      break;
    }
    delta += alt.cost - plans[m]!.cost - UNFILLED_WEIGHT * (filledOf(alt) - filledOf(plans[m]!));
  }
  if (ok && delta < -1e-6) {
    members.forEach((m, k) => setPlan(b, m, news[k]!));
    return true;
  }
  for (const p of news) release(net, p);
  for (const m of members) retake(net, plans[m]!);
  return false;
}
