/**
 * `dom allocate`: an allocation instance (docs/CONTRACT.md, the instance format) solved with the same core as the live
 * allocator, and the result's cost computed from the instance's own formula.
 */
import { distanceKm } from '../../shared/geo.js';
import type { AllocationResult, Assignment, Instance } from '../../shared/instance.js';
import { Network, allocateBatch, type OrderPlan } from './core.js';
import { costStrategy, compareRank, type SourcingOrder, type SourcingStrategy } from './strategy.js';

export function networkOf(inst: Instance): Network {
  const net = new Network(inst.facilities.map((f) => ({ ...f, enabled: true })));
  for (const p of inst.inventory) net.setAvailable(p.facility, p.sku, p.onHand - p.safetyStock);
  return net;
}

export function ordersOf(inst: Instance): SourcingOrder[] {
  return inst.orders.map((o) => ({ ...o, lines: o.lines.map((l) => ({ ...l })) }));
}

export function substitutesOf(inst: Instance): (sku: string) => readonly string[] {
  const m = new Map(inst.items.map((i) => [i.sku, i.substitutes]));
  return (sku) => m.get(sku) ?? [];
}

export function resultOf(inst: Instance, plans: OrderPlan[]): AllocationResult {
  const assignments: Assignment[] = plans.flatMap((p) => p.picks.map((x) => ({ order: p.order, line: x.line, facility: x.facility, sku: x.sku, qty: x.qty })));
  const unfilled = plans.flatMap((p) => p.unfilled.map((u) => ({ order: p.order, line: u.line, qty: u.qty })));
  return { assignments, unfilled, totals: costOf(inst, assignments, unfilled) };
}

/**
 * The contract's cost (docs/CONTRACT.md): Σ (order, facility) shipments of perShipment + perKm·km(facility, shipTo) + Σ units × perUnit[type].
 * A pickup order's units handed over at its own pickup store are no shipment (nothing moves).
 */
export function costOf(inst: Instance, assignments: Assignment[], unfilled: { qty: number }[] = []): AllocationResult['totals'] {
  const fac = new Map(inst.facilities.map((f) => [f.id, f]));
  const ord = new Map(inst.orders.map((o) => [o.id, o]));
  const shipments = new Set<string>();
  let cost = 0;
  let units = 0;
  for (const a of assignments) {
    const f = fac.get(a.facility)!;
    const o = ord.get(a.order)!;
    const key = `${a.order}|${a.facility}`;
    const handover = o.delivery === 'pickup' && a.facility === o.pickupFacility;
    if (!shipments.has(key) && !handover) {
      shipments.add(key);
      const to = o.delivery === 'pickup' ? fac.get(o.pickupFacility!)! : o.shipTo!;
      cost += inst.costs.perShipment + inst.costs.perKm * distanceKm(f, to);
    }
    cost += a.qty * inst.costs.perUnit[f.type];
    units += a.qty;
  }
  return { cost: Math.round(cost * 100) / 100, shipments: shipments.size, unitsFilled: units, unitsUnfilled: unfilled.reduce((s, u) => s + u.qty, 0) };
}

export interface SolveOptions {
  /** The batch path's rounds (core.ts BATCH_EFFORT when not given). */
  improveRounds?: number;
  priceRounds?: number;
  maxCandidates?: number;
  explain?: boolean;
}

export function solveInstance(inst: Instance, opts: SolveOptions = {}): AllocationResult & { plans: OrderPlan[] } {
  const net = networkOf(inst);
  const strategy = costStrategy(inst.costs, { maxCandidates: opts.maxCandidates });
  const plans = allocateBatch(net, ordersOf(inst), () => strategy, substitutesOf(inst), {
    improveRounds: opts.improveRounds,
    priceRounds: opts.priceRounds,
    explain: opts.explain,
  });
  return { ...resultOf(inst, plans), plans };
}

/** The baseline planners compare against: each line from the nearest facility that has it. */
export function nearestFacilityGreedy(inst: Instance): AllocationResult {
  const net = networkOf(inst);
  const strategy: SourcingStrategy = costStrategy(inst.costs, { maxCandidates: 64 });
  const assignments: Assignment[] = [];
  const unfilled: AllocationResult['unfilled'] = [];
  for (const o of ordersOf(inst).sort(compareRank)) {
    const to = o.delivery === 'pickup' ? net.facilities[net.indexOf(o.pickupFacility!)!]! : o.shipTo!;
    for (const l of o.lines) {
      let rem = l.qty;
      const near = net.nearest(to, 64, strategy.maxDistanceKm, (fi) => strategy.eligible(net.facilities[fi]!, o) === null);
      for (const fi of near) {
        if (rem <= 0) break;
        const q = Math.min(rem, net.available(fi, l.sku), net.capacity[fi]!);
        if (q <= 0) continue;
        net.take(fi, l.sku, q);
        assignments.push({ order: o.id, line: l.line, facility: net.facilities[fi]!.id, sku: l.sku, qty: q });
        rem -= q;
      }
      if (rem > 0) unfilled.push({ order: o.id, line: l.line, qty: rem });
    }
  }
  return { assignments, unfilled, totals: costOf(inst, assignments, unfilled) };
}
