/**
 * Price rounds: shadow prices on capacity and stock (subgradient steps on the Lagrangian dual of
 * capacity and stock), so that a rank-order pass at those prices gives scarce capacity and stock
 * to the orders they save most.
 */
import type { Network, Prices } from './network.js';
import { refsOf, release, totalsOf, UNFILLED_WEIGHT, type OrderPlan } from './plan.js';
import { planOrder } from './plan-order.js';
import type { OrderReach } from './reach.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';
import type { Workspace } from './workspace.js';

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
export function priceRounds(
  ws: Workspace,
  start: Network,
  ranked: SourcingOrder[],
  strategies: SourcingStrategy[],
  reaches: OrderReach[],
  plans: OrderPlan[],
  substitutesOf: (sku: string) => readonly string[],
  rounds: number,
  step0: number,
): Prices | null {
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
        const p = planOrder(ws, start, ranked[i]!, strategies[i]!, substitutesOf, reaches[i]!);
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
    const tp = ranked.map((o, i) => planOrder(ws, trial, o, strategies[i]!, substitutesOf, reaches[i]!));
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
