/**
 * The replay: a scenario's batches, in the order they ran, through the live allocator's own code
 * (`Network` and `allocateBatch`, as Allocator.runBatch calls them), on a copy of the network held
 * here in memory. Between batches it does what the live hub's availability index did: the units a
 * batch took leave the stock and count against their facility's capacity for the day, and the
 * stock moved by what is not replayed (other DOs, sales, receipts, counts) moves at the time it moved.
 * Pure: no I/O; a generator, so the caller can report progress and yield between batches.
 */
import { Network, allocateBatch, type OrderPlan } from '../allocator/core.js';
import { strategyChooser } from './config.js';
import type { Scenario, ScenarioFacility, SourcingSettings } from './scenario.js';

/** One configuration to replay under. */
export interface ReplayConfig {
  name: string;
  sourcing: SourcingSettings;
  facilities: ScenarioFacility[];
  /** Stock of facilities the candidate adds (available units). */
  extraStock?: { facility: string; sku: string; available: number }[];
}

/** The key a batch's units count against: the day it ran (window), or the batch itself (an instance, as `dom allocate`). */
export const capacityKey = (sc: Scenario, batchIndex: number, at: string) => (sc.source === 'window' ? at.slice(0, 10) : `batch-${batchIndex}`);

export function* replay(sc: Scenario, cfg: ReplayConfig): Generator<number, OrderPlan[], void> {
  const chooser = strategyChooser(cfg.sourcing);
  const subs = (sku: string): readonly string[] => sc.substitutes[sku] ?? [];
  // sku → facility → available units, in the order the index lists them (the network interns them so)
  const stock = new Map<string, Map<string, number>>();
  const add = (facility: string, sku: string, q: number) => {
    let m = stock.get(sku);
    if (!m) stock.set(sku, (m = new Map()));
    m.set(facility, (m.get(facility) ?? 0) + q);
  };
  for (const s of sc.stock) add(s.facility, s.sku, s.available);
  for (const s of cfg.extraStock ?? []) add(s.facility, s.sku, s.available);
  const used = new Map<string, Map<string, number>>();
  const use = (key: string, facility: string, q: number) => {
    let m = used.get(key);
    if (!m) used.set(key, (m = new Map()));
    m.set(facility, (m.get(facility) ?? 0) + q);
  };
  if (sc.from) for (const u of sc.usedAtStart) use(sc.from.slice(0, 10), u.facility, u.units);
  // the live allocator leaves disabled facilities out of the network altogether
  const active = cfg.facilities.filter((f) => f.enabled !== false);
  const background = [...sc.background].sort((a, b) => a.at.localeCompare(b.at));
  let bg = 0;
  const plans: OrderPlan[] = [];
  for (let b = 0; b < sc.batches.length; b++) {
    const batch = sc.batches[b]!;
    const cutoff = batch.readAt ?? batch.at;
    for (; bg < background.length && background[bg]!.at < cutoff; bg++) {
      const t = background[bg]!;
      add(t.facility, t.sku, -t.qty);
      if (t.capacity) use(t.at.slice(0, 10), t.facility, t.qty);
    }
    const key = capacityKey(sc, b, batch.at);
    const usedNow = used.get(key);
    const net = new Network(active.map((f) => ({ ...f, capacity: Math.max(0, f.capacity - (usedNow?.get(f.id) ?? 0)) })));
    const skus = new Set<string>();
    for (const o of batch.orders)
      for (const l of o.lines) {
        skus.add(l.sku);
        if (l.allowSubstitutes) for (const s of subs(l.sku)) skus.add(s);
      }
    for (const sku of skus) for (const [f, q] of stock.get(sku) ?? []) net.setAvailable(f, sku, q);
    // A pickup order whose store is not in the network (disabled) gets nothing. allocateBatch fails
    // a batch holding one (core.ts planOrder returns its plan without the indices the improvement
    // rounds read), so it is answered here, as planOrder answers it, and kept out of the batch.
    const orphans = batch.orders.filter((o) => o.delivery === 'pickup' && net.indexOf(o.pickupFacility!) === undefined);
    const orders = orphans.length ? batch.orders.filter((o) => !orphans.includes(o)) : batch.orders;
    const ps = allocateBatch(
      net,
      orders.map((o) => ({ ...o, lines: o.lines.map((l) => ({ ...l })) })),
      chooser,
      subs,
      { explain: true },
    );
    for (const o of orphans) {
      ps.push({
        order: o.id,
        picks: [],
        unfilled: o.lines.map((l) => ({ line: l.line, qty: l.qty })),
        cost: 0,
        shipments: 0,
        explanation: {
          strategy: chooser(o).name,
          candidates: [{ facility: o.pickupFacility!, km: 0, excluded: 'pickup store not in the network (disabled)' }],
          chosen: [],
          substitutions: [],
        },
      });
    }
    for (const p of ps)
      for (const x of p.picks) {
        add(x.facility, x.sku, -x.qty);
        use(key, x.facility, x.qty);
      }
    plans.push(...ps);
    yield b + 1;
  }
  return plans;
}

/** Run a replay to its end (tests, the bench, small scenarios). */
export function replayAll(sc: Scenario, cfg: ReplayConfig): OrderPlan[] {
  const it = replay(sc, cfg);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}
