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
  if (b.dirty) {
    for (const id of refsOf(b.plans[i]!).skus) b.dirty.add(id);
    for (const id of refsOf(p).skus) b.dirty.add(id);
  }
  if (b.ordersAt) indexPlan(b, i, false);
  b.plans[i] = p;
  if (b.ordersAt) indexPlan(b, i, true);
}
