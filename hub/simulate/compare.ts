/**
 * The comparison: per configuration its totals (cost measured with one cost formula for all, so
 * that they compare; the allocator's own objective beside it), the load on each facility against
 * its capacity, and against the current configuration the orders whose sourcing changed (both
 * plans and both explanations) and the facilities that gain or lose the most units. For a window
 * of history, also how faithfully the current configuration's replay reproduced the live decisions.
 * Pure, and the CSV renderings of it.
 */
import type { OrderPlan } from '../allocator/core.js';
import { costOf } from '../allocator/instance.js';
import { distanceKm } from '../../shared/geo.js';
import type { Instance } from '../../shared/instance.js';
import type { SourcingOrder } from '../allocator/strategy.js';
import { capacityKey, type ReplayConfig } from './replay.js';
import { LIMITS, type Scenario } from './scenario.js';

export interface FacilityLoad {
  facility: string;
  type: 'store' | 'dc';
  units: number;
  /** Units a day (a batch, for an instance) the configuration gives the facility. */
  capacity: number;
  peakUnits: number;
  peakDay: string | null;
  /** peakUnits / capacity (null when the capacity is 0). */
  utilisation: number | null;
  enabled: boolean;
}

export interface PlanView {
  picks: { line: number; facility: string; sku: string; qty: number; substitute?: boolean }[];
  unfilled: { line: number; qty: number }[];
  explanation: Record<string, unknown> | null;
}

export interface ChangedOrder {
  order: string;
  current: PlanView;
  candidate: PlanView;
  costDelta: number;
}

export interface ConfigResult {
  name: string;
  orders: number;
  cost: number;
  costPerOrder: number;
  /** The sum of the allocator's own plan costs under this configuration's strategies. */
  modelCost: number;
  shipments: number;
  shipmentsPerOrder: number;
  unitsOrdered: number;
  unitsFilled: number;
  unitsBackordered: number;
  fillRate: number;
  substituteUnits: number;
  distanceKm: number;
  load: FacilityLoad[];
  vsCurrent?: {
    costDelta: number;
    costDeltaPct: number | null;
    unitsFilledDelta: number;
    shipmentsDelta: number;
    changedOrders: number;
    changed: ChangedOrder[];
    gainers: { facility: string; units: number }[];
    losers: { facility: string; units: number }[];
  };
}

export interface Fidelity {
  checked: number;
  matching: number;
  differing: { order: string; live: PlanView; replay: PlanView }[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

function view(p: OrderPlan | undefined): PlanView {
  if (!p) return { picks: [], unfilled: [], explanation: null };
  return {
    picks: p.picks.map((x) => ({ line: x.line, facility: x.facility, sku: x.sku, qty: x.qty, ...(x.substitute ? { substitute: true } : {}) })),
    unfilled: p.unfilled,
    // the 8 nearest candidates: a stored run stays well under CouchDB's document size limit
    explanation: { ...p.explanation, candidates: (p.explanation?.candidates ?? []).slice(0, 8), cost: r2(p.cost) },
  };
}

/** What an order's sourcing is, as a comparable string: its picks by line, facility and SKU, and what stayed unfilled. */
export function sourcingKey(v: Pick<PlanView, 'picks' | 'unfilled'>): string {
  const merged = new Map<string, number>();
  for (const x of v.picks) merged.set(`${x.line}:${x.facility}:${x.sku}`, (merged.get(`${x.line}:${x.facility}:${x.sku}`) ?? 0) + x.qty);
  const picks = [...merged].map(([k, q]) => `${k}:${q}`).sort();
  const unfilled = v.unfilled
    .filter((u) => u.qty > 0)
    .map((u) => `${u.line}:${u.qty}`)
    .sort();
  return `${picks.join(',')}|${unfilled.join(',')}`;
}

export function summarise(sc: Scenario, cfg: ReplayConfig, plans: OrderPlan[]): ConfigResult {
  const orders = new Map<string, SourcingOrder>();
  const batchOf = new Map<string, string>();
  sc.batches.forEach((b, i) => {
    for (const o of b.orders) {
      orders.set(o.id, o);
      batchOf.set(o.id, capacityKey(sc, i, b.at));
    }
  });
  const facs = new Map(cfg.facilities.map((f) => [f.id, f]));
  // the one cost formula (docs/CONTRACT.md, costOf in instance.ts) over every configuration's assignments
  const inst = {
    facilities: cfg.facilities.map((f) => ({
      id: f.id,
      type: f.type,
      lat: f.lat,
      lon: f.lon,
      capacity: f.capacity,
      priority: f.priority,
      shipFromStore: f.shipFromStore,
      pickup: f.pickup,
    })),
    inventory: [],
    items: [],
    orders: [...orders.values()].map((o) => ({
      ...o,
      lines: o.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty, allowSubstitutes: l.allowSubstitutes })),
    })),
    costs: sc.measure,
  } as unknown as Instance;
  const assignments = plans.flatMap((p) => p.picks.map((x) => ({ order: p.order, line: x.line, facility: x.facility, sku: x.sku, qty: x.qty })));
  const totals = costOf(
    inst,
    assignments,
    plans.flatMap((p) => p.unfilled),
  );
  let distance = 0;
  const shipped = new Set<string>();
  const perFacility = new Map<string, Map<string, number>>();
  let substituteUnits = 0;
  for (const p of plans) {
    const o = orders.get(p.order)!;
    for (const x of p.picks) {
      if (x.substitute) substituteUnits += x.qty;
      const byDay = perFacility.get(x.facility) ?? perFacility.set(x.facility, new Map()).get(x.facility)!;
      const day = batchOf.get(p.order)!;
      byDay.set(day, (byDay.get(day) ?? 0) + x.qty);
      const key = `${p.order}|${x.facility}`;
      if (shipped.has(key) || (o.delivery === 'pickup' && x.facility === o.pickupFacility)) continue;
      shipped.add(key);
      const f = facs.get(x.facility)!;
      const to = o.delivery === 'pickup' ? facs.get(o.pickupFacility!) : o.shipTo;
      if (to) distance += distanceKm(f, to);
    }
  }
  const load: FacilityLoad[] = cfg.facilities.map((f) => {
    const byDay = perFacility.get(f.id) ?? new Map<string, number>();
    let peakUnits = 0;
    let peakDay: string | null = null;
    let units = 0;
    for (const [d, u] of byDay) {
      units += u;
      if (u > peakUnits) [peakUnits, peakDay] = [u, d];
    }
    return {
      facility: f.id,
      type: f.type,
      units,
      capacity: f.capacity,
      peakUnits,
      peakDay,
      utilisation: f.capacity > 0 ? r4(peakUnits / f.capacity) : null,
      enabled: f.enabled !== false,
    };
  });
  const unitsOrdered = [...orders.values()].reduce((s, o) => s + o.lines.reduce((t, l) => t + l.qty, 0), 0);
  const n = plans.length;
  return {
    name: cfg.name,
    orders: n,
    cost: totals.cost,
    costPerOrder: n ? r2(totals.cost / n) : 0,
    modelCost: r2(plans.reduce((s, p) => s + p.cost, 0)),
    shipments: totals.shipments,
    shipmentsPerOrder: n ? r4(totals.shipments / n) : 0,
    unitsOrdered,
    unitsFilled: totals.unitsFilled,
    unitsBackordered: totals.unitsUnfilled,
    fillRate: unitsOrdered ? r4(totals.unitsFilled / unitsOrdered) : 1,
    substituteUnits,
    distanceKm: Math.round(distance * 10) / 10,
    load,
  };
}

/** The candidate against the current configuration: deltas, changed orders, gainers and losers. */
export interface Replayed {
  cfg: ReplayConfig;
  plans: OrderPlan[];
  result: ConfigResult;
}

export function versus(sc: Scenario, current: Replayed, cand: Replayed): NonNullable<ConfigResult['vsCurrent']> {
  const cur = new Map(current.plans.map((p) => [p.order, p]));
  const orders = new Map(sc.batches.flatMap((b) => b.orders.map((o) => [o.id, o] as const)));
  const measureOne = (p: OrderPlan, facilities: ReplayConfig['facilities']) => {
    const o = orders.get(p.order);
    return o ? costOfOrder(sc, facilities, o, p) : 0;
  };
  const changed: ChangedOrder[] = [];
  let changedOrders = 0;
  for (const p of cand.plans) {
    const c = cur.get(p.order);
    if (c && sourcingKey(view(c)) === sourcingKey(view(p))) continue;
    changedOrders++;
    if (changed.length >= LIMITS.maxChangedListed) continue;
    const costDelta = r2(measureOne(p, cand.cfg.facilities) - (c ? measureOne(c, current.cfg.facilities) : 0));
    changed.push({ order: p.order, current: view(c), candidate: view(p), costDelta });
  }
  const delta = new Map<string, number>();
  for (const l of current.result.load) delta.set(l.facility, -l.units);
  for (const l of cand.result.load) delta.set(l.facility, (delta.get(l.facility) ?? 0) + l.units);
  const moves = [...delta].filter(([, u]) => u !== 0).map(([facility, units]) => ({ facility, units }));
  const a = current.result;
  const b = cand.result;
  return {
    costDelta: r2(b.cost - a.cost),
    costDeltaPct: a.cost ? r2(((b.cost - a.cost) / a.cost) * 100) : null,
    unitsFilledDelta: b.unitsFilled - a.unitsFilled,
    shipmentsDelta: b.shipments - a.shipments,
    changedOrders,
    changed: changed.sort((x, y) => Math.abs(y.costDelta) - Math.abs(x.costDelta)),
    gainers: moves
      .filter((m) => m.units > 0)
      .sort((x, y) => y.units - x.units)
      .slice(0, 5),
    losers: moves
      .filter((m) => m.units < 0)
      .sort((x, y) => x.units - y.units)
      .slice(0, 5),
  };
}

/** One order's cost with the measure's formula (for the changed orders' deltas). */
function costOfOrder(sc: Scenario, facilities: ReplayConfig['facilities'], o: SourcingOrder, p: OrderPlan): number {
  const facs = new Map(facilities.map((f) => [f.id, f]));
  let cost = 0;
  const seen = new Set<string>();
  for (const x of p.picks) {
    const f = facs.get(x.facility);
    if (!f) continue;
    cost += x.qty * sc.measure.perUnit[f.type];
    if (seen.has(x.facility) || (o.delivery === 'pickup' && x.facility === o.pickupFacility)) continue;
    seen.add(x.facility);
    const to = o.delivery === 'pickup' ? facs.get(o.pickupFacility!) : o.shipTo;
    cost += sc.measure.perShipment + (to ? sc.measure.perKm * distanceKm(f, to) : 0);
  }
  return cost;
}

/** The current configuration's replay against what the live allocator decided for the same orders. */
export function fidelityOf(sc: Scenario, plans: OrderPlan[]): Fidelity | null {
  if (sc.source !== 'window') return null;
  const out: Fidelity = { checked: 0, matching: 0, differing: [] };
  for (const p of plans) {
    const l = sc.live[p.order];
    if (!l) continue;
    out.checked++;
    if (sourcingKey(l) === sourcingKey(view(p))) out.matching++;
    else if (out.differing.length < 50)
      out.differing.push({ order: p.order, live: { picks: l.picks, unfilled: l.unfilled, explanation: l.explanation }, replay: view(p) });
  }
  return out;
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (rows: unknown[][]) => rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';

/** The comparison as CSV: `summary` (one row per configuration), `load` (per facility) or `changed` (per changed order). */
export function toCsv(results: ConfigResult[], table: 'summary' | 'load' | 'changed'): string {
  if (table === 'load') {
    return csv([
      ['configuration', 'facility', 'type', 'enabled', 'units', 'capacity', 'peak_units', 'peak_day', 'utilisation'],
      ...results.flatMap((r) => r.load.map((l) => [r.name, l.facility, l.type, l.enabled, l.units, l.capacity, l.peakUnits, l.peakDay, l.utilisation])),
    ]);
  }
  if (table === 'changed') {
    const fmt = (v: PlanView) =>
      v.picks.map((x) => `${x.line}:${x.facility}:${x.sku}x${x.qty}`).join(' ') +
      (v.unfilled.length ? ` unfilled ${v.unfilled.map((u) => `${u.line}x${u.qty}`).join(' ')}` : '');
    const rows = results.flatMap((r) => (r.vsCurrent?.changed ?? []).map((c) => [r.name, c.order, fmt(c.current), fmt(c.candidate), c.costDelta]));
    return csv([['configuration', 'order', 'current', 'candidate', 'cost_delta'], ...rows]);
  }
  return csv([
    [
      'configuration',
      'orders',
      'cost',
      'cost_per_order',
      'model_cost',
      'shipments',
      'shipments_per_order',
      'units_ordered',
      'units_filled',
      'units_backordered',
      'fill_rate',
      'substitute_units',
      'distance_km',
      'cost_delta',
      'changed_orders',
    ],
    ...results.map((r) => [
      r.name,
      r.orders,
      r.cost,
      r.costPerOrder,
      r.modelCost,
      r.shipments,
      r.shipmentsPerOrder,
      r.unitsOrdered,
      r.unitsFilled,
      r.unitsBackordered,
      r.fillRate,
      r.substituteUnits,
      r.distanceKm,
      r.vsCurrent?.costDelta ?? 0,
      r.vsCurrent?.changedOrders ?? 0,
    ]),
  ]);
}
