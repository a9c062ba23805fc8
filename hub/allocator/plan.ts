/**
 * What the allocator decides for one order (an `OrderPlan`), and the small operations every pass
 * shares: giving a plan's units back to the network and taking them again, and how plans compare
 * (fill first: no move may take a unit of fill from an order).
 */
import type { Network } from './network.js';

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
  explanation: {
    strategy: string;
    candidates: CandidateNote[];
    chosen: { facility: string; units: number; km: number; cost: number }[];
    substitutions: string[];
  };
}

/** A facility that may serve an order, with what a shipment and a unit cost from there. */
export interface Candidate {
  /** facility index in the network */
  fi: number;
  km: number;
  ship: number;
  unit: number;
}

/** A plan's picks as indices (facility, interned SKU), parallel to `picks`; a symbol, so JSON leaves it out. */
const REFS = Symbol('refs');
export interface PickRefs {
  /** the network the indices belong to */
  net: Network;
  fis: number[];
  skus: number[];
}
type Indexed = OrderPlan & { [REFS]?: PickRefs };

export function refsOf(p: OrderPlan): PickRefs {
  return (p as Indexed)[REFS]!;
}

export function setRefs(p: OrderPlan, refs: PickRefs): void {
  (p as Indexed)[REFS] = refs;
}

/** Return a plan's units to the network (for re-planning). */
export function release(net: Network, plan: OrderPlan): void {
  const refs = (plan as Indexed)[REFS];
  if (refs?.net === net) for (let i = 0; i < plan.picks.length; i++) net.giveAt(refs.fis[i]!, refs.skus[i]!, plan.picks[i]!.qty);
  else for (const p of plan.picks) net.give(net.indexOf(p.facility)!, p.sku, p.qty);
}

/** Take a released plan's units again. */
export function retake(net: Network, plan: OrderPlan): void {
  const refs = (plan as Indexed)[REFS];
  if (refs?.net === net) for (let i = 0; i < plan.picks.length; i++) net.takeAt(refs.fis[i]!, refs.skus[i]!, plan.picks[i]!.qty);
  else for (const p of plan.picks) net.take(net.indexOf(p.facility)!, p.sku, p.qty);
}

export function filledOf(p: OrderPlan): number {
  let s = 0;
  for (const x of p.picks) s += x.qty;
  return s;
}

/** Units of the ordered SKUs themselves (not substitutes). */
export function primaryOf(p: OrderPlan): number {
  let s = 0;
  for (const x of p.picks) if (!x.substitute) s += x.qty;
  return s;
}

/**
 * Whether `alt` may replace `old` for an order: it fills no fewer units, and no fewer of the ordered
 * SKUs (a substitute only for what the ordered SKU cannot fill, whoever else moved).
 */
export function keepsFill(alt: OrderPlan, old: OrderPlan): boolean {
  return filledOf(alt) >= filledOf(old) && primaryOf(alt) >= primaryOf(old);
}

/** Fill first: a unit of fill outweighs any cost. */
export const UNFILLED_WEIGHT = 1000;

/** A plan's cost with its unfilled units weighed in (fill first). */
export function fillFirstScore(p: OrderPlan): number {
  let u = 0;
  for (const x of p.unfilled) u += x.qty;
  return p.cost + UNFILLED_WEIGHT * u;
}

export function totalsOf(plans: OrderPlan[]): { cost: number; filled: number; primary: number } {
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
