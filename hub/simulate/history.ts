/**
 * Scenarios from the hub's history (a window of real orders) or from an uploaded instance. Reading
 * history only reads: orders, DO states and the in-memory availability index.
 *
 * The window's batches are the live allocator's: an order's first decision is the first entry of
 * its explanations, and every order that got DOs in one batch carries that batch's completion time
 * there. Orders that got nothing carry the batch's start instead, and join the first batch that
 * completed at or after it (the batch they were in, unless it allocated nothing at all).
 *
 * The network as at the window's start: the facilities as they stand (their history is not kept;
 * the notes name any changed since), and per facility and SKU the units available now, plus what
 * every DO created since the start took (what it picked, or ordered while unpicked; none when
 * rejected or cancelled), minus what the ledger added since (walk-in sales, receipts and
 * adjustments in the nodes' databases, counts loaded through the API). What moved inside the window
 * moves again in the replay, at the time it moved (the node's clock for the ledger).
 */
import type { HubContext } from '../context.js';
import type { OrderDoc } from '../orders/model.js';
import type { DoStateDoc } from '../../shared/dostate.js';
import type { SourcingOrder } from '../allocator/strategy.js';
import { pagedPrefix } from '../inventory/index.js';
import { DomError, isStatus } from '../../shared/errors.js';
import type { Instance } from '../../shared/instance.js';
import type { AdjustmentDoc, CountDoc, ReceiptDoc, SaleDoc } from '../../shared/schemas.js';
import { costsOf } from './config.js';
import { LIMITS, type BackgroundTake, type LiveDecision, type Scenario, type ScenarioBatch, type ScenarioFacility, type SourcingSettings } from './scenario.js';

/** Units a DO takes off the shelf, per SKU: as the availability index counts them. */
function takesOf(s: DoStateDoc): Map<string, number> {
  const out = new Map<string, number>();
  if (s.state === 'rejected' || s.state === 'cancelled') return out;
  for (const l of s.lines) {
    const q = s.picked ? (s.picked[String(l.line)] ?? 0) : l.qty;
    if (q > 0) out.set(l.sku, (out.get(l.sku) ?? 0) + q);
  }
  return out;
}

export function sourcingOrderOf(o: OrderDoc): SourcingOrder {
  return {
    id: o.id,
    priority: o.priority,
    createdAt: o.createdAt,
    dueDate: o.dueDate,
    channel: o.channel,
    shipTo: o.shipTo,
    delivery: o.delivery,
    pickupFacility: o.pickupFacility,
    lines: o.lines.map((l) => ({ line: l.line, sku: l.sku, qty: l.qty, allowSubstitutes: l.allowSubstitutes, exclude: [] })),
  };
}

export interface WindowInput {
  from: string;
  to: string;
  channels?: string[];
}

export async function scenarioFromHistory(ctx: HubContext, sourcing: SourcingSettings, w: WindowInput): Promise<Scenario> {
  const from = new Date(w.from).toISOString();
  const to = new Date(w.to).toISOString();
  const dom = ctx.couch.db<OrderDoc>('dom');
  const all = await pagedPrefix(dom, 'order:');
  const inWindow = all.filter((o) => o.receivedAt >= from && o.receivedAt < to && (!w.channels || w.channels.includes(o.channel)));
  if (inWindow.length > LIMITS.maxOrders)
    throw new DomError(
      413,
      'too_many_orders',
      `the window holds ${inWindow.length} orders; a run replays at most ${LIMITS.maxOrders} (narrow the window or the channels)`,
    );
  const states = await pagedPrefix(ctx.couch.db<DoStateDoc>('dom'), 'dostate:');

  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  const live: Record<string, LiveDecision> = {};
  const replayedDos = new Set<string>();
  const allocated = new Map<string, SourcingOrder[]>(); // batch completion time → orders
  const unfilled = new Map<string, SourcingOrder[]>(); // batch start → orders that got nothing
  for (const o of inWindow) {
    const first = o.explanations[0];
    if (!first) {
      skip(o.hold ? 'held' : o.cancelRequested ? 'cancelled' : 'not_allocated_yet');
      continue;
    }
    const allocs = o.allocations.filter((a) => a.attempt === first.attempt && !a.handoverOf);
    if (o.allocations.some((a) => a.attempt < first.attempt)) {
      skip('history_trimmed'); // more than 10 decisions: the first is no longer kept
      continue;
    }
    for (const a of allocs) replayedDos.add(a.doId);
    live[o.id] = {
      picks: allocs.flatMap((a) => a.lines.map((l) => ({ line: l.orderLine ?? l.line, facility: a.facility, sku: l.sku, qty: l.qty }))),
      unfilled: ((first.unfilled as { line: number; qty: number }[] | undefined) ?? []).map((u) => ({ line: u.line, qty: u.qty })),
      explanation: first,
    };
    const target = allocs.length ? allocated : unfilled;
    const list = target.get(first.at) ?? [];
    list.push(sourcingOrderOf(o));
    target.set(first.at, list);
  }
  const keys = [...allocated.keys()].sort();
  // a batch read the network before it created its first DO
  const firstDo = new Map<string, string>(); // orderId → its first-decision DOs' earliest creation
  for (const s of states)
    if (replayedDos.has(s.doId) && (!firstDo.has(s.orderId) || s.createdAt < firstDo.get(s.orderId)!)) firstDo.set(s.orderId, s.createdAt);
  const batches = new Map<string, ScenarioBatch>(
    keys.map((k) => {
      const reads = allocated
        .get(k)!
        .map((o) => firstDo.get(o.id))
        .filter((x): x is string => !!x)
        .sort();
      return [k, { at: k, ...(reads[0] ? { readAt: reads[0] } : {}), orders: allocated.get(k)! }];
    }),
  );
  for (const [at, orders] of [...unfilled].sort((a, b) => a[0].localeCompare(b[0]))) {
    const k = keys.find((x) => x >= at);
    const b = k ? batches.get(k)! : (batches.get(at) ?? batches.set(at, { at, orders: [] }).get(at)!);
    b.orders.push(...orders);
    // the batch started then (those orders carry its start): its capacity counts on that day
    if (at < b.at) b.at = at;
    if (!b.readAt || at < b.readAt) b.readAt = at;
  }

  const skus = new Set<string>();
  for (const b of batches.values())
    for (const o of b.orders)
      for (const l of o.lines) {
        skus.add(l.sku);
        if (l.allowSubstitutes) for (const s of ctx.items.substitutesOf(l.sku)) skus.add(s);
      }
  const since = new Map<string, number>(); // facility|sku → units taken since the start (negative: added)
  const took = (facility: string, sku: string, q: number) => since.set(`${facility}|${sku}`, (since.get(`${facility}|${sku}`) ?? 0) + q);
  const usedAtStart = new Map<string, number>();
  const background: BackgroundTake[] = [];
  const day = from.slice(0, 10);
  for (const s of states) {
    const takes = takesOf(s);
    if (s.createdAt >= from) for (const [sku, q] of takes) if (skus.has(sku)) took(s.facility, sku, q);
    if (s.createdAt < from && s.createdAt.slice(0, 10) === day)
      usedAtStart.set(s.facility, (usedAtStart.get(s.facility) ?? 0) + [...takes.values()].reduce((a, b) => a + b, 0));
    if (s.createdAt >= from && s.createdAt < to && !replayedDos.has(s.doId))
      for (const [sku, qty] of takes) background.push({ at: s.createdAt, facility: s.facility, sku, qty, capacity: true });
  }
  for (const m of await ledgerSince(ctx, from, skus, new Map(states.map((s) => [s.doId, s.createdAt])))) {
    took(m.facility, m.sku, m.qty);
    if (m.at < to) background.push({ ...m, capacity: false });
  }
  const stock: Scenario['stock'] = [];
  for (const sku of skus)
    for (const f of ctx.index.facilitiesWith(sku)) {
      const v = ctx.index.view(f, sku);
      if (!v) continue;
      stock.push({ facility: f, sku, available: Math.max(0, v.onHand - v.reserved - v.safetyStock + (since.get(`${f}|${sku}`) ?? 0)) });
    }
  const facilities: ScenarioFacility[] = (await ctx.facilities.list()).map(({ _id, _rev, createdAt, ...f }) => f as ScenarioFacility);
  const notes: string[] = [];
  for (const f of await ctx.facilities.list()) {
    const updatedAt = (f as { updatedAt?: string }).updatedAt;
    if (updatedAt && updatedAt > from) notes.push(`facility ${f.id} was changed at ${updatedAt}, after the window start: its current settings are used`);
  }
  const substitutes = Object.fromEntries([...skus].map((s) => [s, [...ctx.items.substitutesOf(s)]]).filter(([, v]) => v.length));
  return {
    source: 'window',
    from,
    to,
    facilities,
    stock,
    usedAtStart: [...usedAtStart].map(([facility, units]) => ({ facility, units })),
    substitutes,
    batches: [...batches.values()].sort((a, b) => a.at.localeCompare(b.at)),
    background,
    live,
    sourcing,
    measure: costsOf(sourcing),
    skipped,
    notes,
  };
}

/**
 * Stock movements of the ledger since `from`, as takes (a sale takes, a receipt gives back): the
 * nodes' sales, receipts and adjustments, and counts. A count a node applied is an adjustment with
 * its count id; it is placed at the count's time (when the hub learnt it), with the node's delta. A
 * count of a facility whose node never applied it sets on hand: its delta is from the count before.
 *
 * A node's entry is placed when the hub can have learnt it: not before it happened (the node's
 * clock), and not before the DOs the hub wrote to that database ahead of its arrival there (the
 * database's changes feed orders both: an entry made during a link cut arrives after it).
 */
async function ledgerSince(ctx: HubContext, from: string, skus: Set<string>, doCreated: Map<string, string>): Promise<Omit<BackgroundTake, 'capacity'>[]> {
  const out: Omit<BackgroundTake, 'capacity'>[] = [];
  const countDelta = new Map<string, number>(); // countId|sku → the node's delta
  for (const n of await ctx.registry.list()) {
    const arrived = new Map<string, string>(); // ledger id → the last DO written before it arrived
    try {
      const feed = await ctx.couch.db(n.db).changes({ since: 0 } as never);
      let last = '';
      for (const r of feed.results) {
        if (r.id.startsWith('do:')) {
          const t = doCreated.get(r.id.slice(3));
          if (t && t > last) last = t;
        } else if (last && /^(sale|adj|rcpt):/.test(r.id)) arrived.set(r.id, last);
      }
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    const known = (d: { _id: string; at: string }) => {
      const a = arrived.get(d._id);
      return a && a > d.at ? a : d.at;
    };
    // a facility whose node never wrote anything may have no database yet
    const read = <T extends { _id: string }>(prefix: string) =>
      pagedPrefix(ctx.couch.db<T>(n.db), prefix).catch((err: unknown) => {
        if (isStatus(err, 404)) return [] as T[];
        throw err;
      });
    const [sales, adjs, rcpts] = await Promise.all([
      read<SaleDoc & { _id: string }>('sale:'),
      read<AdjustmentDoc & { _id: string }>('adj:'),
      read<ReceiptDoc & { _id: string }>('rcpt:'),
    ]);
    for (const d of sales) if (known(d) >= from && skus.has(d.sku)) out.push({ at: known(d), facility: n.id, sku: d.sku, qty: d.qty });
    for (const d of rcpts)
      if (known(d) >= from) for (const l of d.lines) if (skus.has(l.sku) && l.qty) out.push({ at: known(d), facility: n.id, sku: l.sku, qty: -l.qty });
    for (const d of adjs) {
      if (d.countId) countDelta.set(`${d.countId}|${d.sku}`, (countDelta.get(`${d.countId}|${d.sku}`) ?? 0) + d.delta);
      else if (known(d) >= from && skus.has(d.sku) && d.delta) out.push({ at: known(d), facility: n.id, sku: d.sku, qty: -d.delta });
    }
  }
  const counts = (await pagedPrefix(ctx.couch.db<CountDoc & { _id: string }>('dom'), 'count:')).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const last = new Map<string, number>();
  for (const c of counts)
    for (const p of c.positions) {
      const key = `${c.facility}|${p.sku}`;
      const delta = countDelta.get(`${c.countId}|${p.sku}`) ?? p.onHand - (last.get(key) ?? 0);
      last.set(key, p.onHand);
      if (c.createdAt >= from && skus.has(p.sku) && delta) out.push({ at: c.createdAt, facility: c.facility, sku: p.sku, qty: -delta });
    }
  return out;
}

/** An uploaded instance: its facilities and stock, its costs as the current configuration; no live decisions. */
export function scenarioFromInstance(inst: Instance, batchSize?: number): Scenario {
  const facilities = new Set(inst.facilities.map((f) => f.id));
  for (const o of inst.orders)
    if (o.delivery === 'pickup' && !facilities.has(o.pickupFacility!))
      throw new DomError(422, 'unknown_facility', `instance order ${o.id}: unknown pickup facility ${o.pickupFacility}`);
  for (const p of inst.inventory)
    if (!facilities.has(p.facility)) throw new DomError(422, 'unknown_facility', `instance inventory names unknown facility ${p.facility}`);
  if (inst.orders.length > LIMITS.maxOrders)
    throw new DomError(413, 'too_many_orders', `the instance holds ${inst.orders.length} orders; a run replays at most ${LIMITS.maxOrders}`);
  const orders: SourcingOrder[] = inst.orders.map((o) => ({ ...o, lines: o.lines.map((l) => ({ ...l })) }));
  const size = batchSize ?? Math.max(1, orders.length);
  const arrival = batchSize ? [...orders].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)) : orders;
  const batches: ScenarioBatch[] = [];
  for (let i = 0; i < arrival.length; i += size) batches.push({ at: arrival[i]!.createdAt, orders: arrival.slice(i, i + size) });
  const m = new Map(inst.items.map((i) => [i.sku, i.substitutes]));
  return {
    source: 'instance',
    from: null,
    to: null,
    facilities: inst.facilities.map((f) => ({ ...f, name: f.id, enabled: true })),
    stock: inst.inventory.map((p) => ({ facility: p.facility, sku: p.sku, available: Math.max(0, p.onHand - p.safetyStock) })),
    usedAtStart: [],
    substitutes: Object.fromEntries([...m].filter(([, v]) => v.length)),
    batches,
    background: [],
    live: {},
    sourcing: { default: { perShipment: inst.costs.perShipment, perKm: inst.costs.perKm, perUnit: inst.costs.perUnit } },
    measure: inst.costs,
    skipped: {},
    notes: [],
  };
}
