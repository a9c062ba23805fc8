/**
 * The state a batch's improvement passes share (batch.ts, ejection.ts, stock-moves.ts): the orders
 * in rank order with their plans, the network before the batch, and indexes of which orders hold
 * units where. Every change of an order's plan goes through `setPlan`, which keeps the indexes.
 */
import type { Network } from './network.js';
import { refsOf, type OrderPlan } from './plan.js';
import { planOrder } from './plan-order.js';
import type { OrderReach } from './reach.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';
import type { Workspace } from './workspace.js';

export interface BatchState {
  ws: Workspace;
  net: Network;
  /** the network before the batch: what each order would get alone */
  start: Network;
  ranked: SourcingOrder[];
  strategies: SourcingStrategy[];
  reaches: OrderReach[];
  plans: OrderPlan[];
  substitutesOf: (sku: string) => readonly string[];
  /** each order's plan against the untouched network, and its fill-first score */
  ideal: { plan: OrderPlan; score: number }[] | null;
  /** facility index → orders with picks there → their units there */
  ordersAt: Map<number, number>[] | null;
  /** (SKU id × facilities + facility) → orders with that SKU there → their units of it there */
  ordersAtSku: Map<number, Map<number, number>> | null;
  /** SKU ids whose users' plans changed since the last stock moves (null: all) */
  dirty: Set<number> | null;
  /** per order, how many times its plan has changed (setPlan): part of the tries' signatures */
  version: Int32Array;
  /** per order, the signature of its last re-planning that changed nothing (NaN: none) */
  replanSeen: Float64Array;
  /** per order, its SKU ids (-1 unknown to the network) and the units its lines want of each, and its total units */
  wants: ({ ids: number[]; qty: number[]; total: number } | undefined)[];
}

/** A batch's state after its rank-order pass (plans in rank order). */
export function batchState(
  ws: Workspace,
  net: Network,
  start: Network,
  ranked: SourcingOrder[],
  strategies: SourcingStrategy[],
  reaches: OrderReach[],
  plans: OrderPlan[],
  substitutesOf: (sku: string) => readonly string[],
): BatchState {
  return {
    ws,
    net,
    start,
    ranked,
    strategies,
    reaches,
    plans,
    substitutesOf,
    ideal: null,
    ordersAt: null,
    ordersAtSku: null,
    dirty: null,
    version: new Int32Array(ranked.length),
    replanSeen: new Float64Array(ranked.length).fill(NaN),
    wants: [],
  };
}

/**
 * Whether a plan came from the order's own candidates alone: every unit filled, none by a
 * substitute. A plan that is not looked further (holders of a SKU, substitutes), at facilities
 * the signature does not cover, so a re-planning that made one is never skipped.
 */
export function local(p: OrderPlan): boolean {
  if (p.unfilled.length > 0) return false;
  for (const x of p.picks) if (x.substitute) return false;
  return true;
}

/** One step of the signatures' hash (32 bits). */
export function mix(h: number, v: number): number {
  h = Math.imul(h ^ Math.round(v), 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
}

/**
 * A signature of what re-planning order i reads of the network, with its own units given back: per
 * facility in its reach (its nearest candidates and DCs, its pickup store) and of its plan, the
 * capacity left and the units of each of its SKUs, each capped at what the order could use (more
 * than that plans the same); and its plan's version. Planning is deterministic, so a re-planning
 * whose signature is that of one that changed nothing would change nothing again, and the batch's
 * re-planning pass skips it. Null when the planning would look beyond the reach (more of its nearest
 * facilities are full than it keeps spares for, so it searches further): then it is never skipped.
 * Facilities found by a wider search (holders of a SKU its candidates lack, substitutes) are not in
 * the signature: a re-planning is remembered only when the plan it made was `local`.
 */
export function signature(b: BatchState, i: number, h: number): number | null {
  const { net } = b;
  const r = b.reaches[i]!;
  if (!r.to) return null;
  const s = b.strategies[i]!;
  const p = b.plans[i]!;
  const refs = refsOf(p);
  let w = b.wants[i];
  if (!w) {
    w = { ids: [], qty: [], total: 0 };
    for (const l of b.ranked[i]!.lines) {
      const id = net.skuId(l.sku);
      const j = w.ids.indexOf(id);
      if (j < 0) {
        w.ids.push(id);
        w.qty.push(l.qty);
      } else w.qty[j] = w.qty[j]! + l.qty;
      w.total += l.qty;
    }
    b.wants[i] = w;
  }
  const cap = net.capacity;
  const visit = (fi: number): boolean => {
    let own = 0;
    for (let k = 0; k < refs.fis.length; k++) if (refs.fis[k] === fi) own += p.picks[k]!.qty;
    const c = Math.min(cap[fi]! + own, w.total);
    h = mix(mix(h, fi), c);
    for (let g = 0; g < w.ids.length; g++) {
      const id = w.ids[g]!;
      if (id < 0) continue;
      let mine = 0;
      for (let k = 0; k < refs.fis.length; k++) if (refs.fis[k] === fi && refs.skus[k] === id) mine += p.picks[k]!.qty;
      h = mix(h, Math.min(net.rowAt(id)[fi]! + mine, w.qty[g]!));
    }
    return c > 0;
  };
  if (r.pickup) visit(r.pickup.fi);
  let open = 0;
  for (const c of r.near) if (visit(c.fi)) open++;
  if (open < s.maxCandidates && !r.complete) return null;
  let dcFull = false;
  for (const c of r.dcs) if (!visit(c.fi)) dcFull = true;
  // a DC of its reach is full: the nearest DCs with capacity left are searched afresh, among all
  if (dcFull) for (const fi of net.dcs) visit(fi);
  for (const fi of refs.fis) visit(fi);
  return mix(h, b.version[i]!);
}

/** Plan order i afresh against the network as it stands (and commit it). */
export function replan(b: BatchState, i: number): OrderPlan {
  return planOrder(b.ws, b.net, b.ranked[i]!, b.strategies[i]!, b.substitutesOf, b.reaches[i]!);
}

/** Add (on) or remove order i's picks in the indexes. */
export function indexPlan(b: BatchState, i: number, on: boolean): void {
  const p = b.plans[i]!;
  const refs = refsOf(p);
  const n = b.net.facilities.length;
  for (let k = 0; k < refs.fis.length; k++) {
    const fi = refs.fis[k]!;
    const key = refs.skus[k]! * n + fi;
    let units = b.ordersAtSku!.get(key);
    const at = b.ordersAt![fi]!;
    if (on) {
      const q = p.picks[k]!.qty;
      at.set(i, (at.get(i) ?? 0) + q);
      if (!units) b.ordersAtSku!.set(key, (units = new Map()));
      units.set(i, (units.get(i) ?? 0) + q);
    } else {
      at.delete(i);
      units?.delete(i);
    }
  }
}

/** Make p order i's plan (its units already taken), keeping the indexes and the dirty SKUs. */
export function setPlan(b: BatchState, i: number, p: OrderPlan): void {
  b.version[i] = b.version[i]! + 1;
  if (b.dirty) {
    for (const id of refsOf(b.plans[i]!).skus) b.dirty.add(id);
    for (const id of refsOf(p).skus) b.dirty.add(id);
  }
  if (b.ordersAt) indexPlan(b, i, false);
  b.plans[i] = p;
  if (b.ordersAt) indexPlan(b, i, true);
}
