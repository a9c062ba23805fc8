/**
 * The replenishment run (I/O around planReplenishment): gather positions, supply, model stock and
 * forecasts; plan; then write each store's transfer as a DO at its serving DC (with an `inbound:`
 * document at the store and an in-transit record), released like any DO. Ids derive from the
 * plan itself, so running again on the same inputs writes nothing new.
 */
import { createHash } from 'node:crypto';
import type { HubContext } from '../context.js';
import type { PlanningStore, SupplyDoc } from './store.js';
import { modelTarget, nearestDc, planReplenishment, type StoreNeedInput, type ReplenishmentPlan } from './replenish.js';
import { distanceKm } from '../../shared/geo.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import type { DistributionOrderDoc, InboundDoc, SaleDoc } from '../../shared/schemas.js';
import { writeDos } from '../dos.js';
import { pagedPrefix } from '../inventory/index.js';

export interface RunSummary extends ReplenishmentPlan {
  runId: string;
  transfers: (ReplenishmentPlan['transfers'][number] & { doId: string })[];
  created: number;
  stores: number;
  skus: number;
  forecastSource: { forecast: number; salesHistory: number; none: number };
  /** Stores without a serving DC, served by their nearest DC in this run. */
  servedByNearestDc: { store: string; dc: string; km: number }[];
  /** Model-stock rows the run could not plan, each with its reason. */
  skipped: { facility: string; sku: string; reason: string }[];
  /** Planned only: nothing was written (`{"dryRun": true}`). */
  dryRun: boolean;
}

export interface RunOptions {
  /** Plan and answer, write nothing. */
  dryRun?: boolean;
}

const LEAD_DAYS = 2;
const HISTORY_DAYS = 28;

export async function runReplenishment(ctx: HubContext, planning: PlanningStore, opts: RunOptions = {}): Promise<RunSummary> {
  const dryRun = !!opts.dryRun;
  if (!dryRun) await finishTransfers(ctx, planning); // what an earlier run decided and did not finish writing
  const facilities = await ctx.facilities.list();
  const byId = new Map(facilities.map((f) => [f.id, f]));
  const stores: StoreNeedInput[] = [];
  const source = { forecast: 0, salesHistory: 0, none: 0 };
  const history = new Map<string, Map<string, number>>(); // facility → sku → daily from sales
  const salesDaily = async (facility: string, sku: string) => {
    if (!history.has(facility)) {
      const since = new Date(Date.now() - HISTORY_DAYS * 86_400_000).toISOString();
      const sales = await pagedPrefix(ctx.couch.db<SaleDoc>(nodeDbName(facility)), 'sale:').catch(() => []);
      const m = new Map<string, number>();
      for (const s of sales) if (s.at >= since) m.set(s.sku, (m.get(s.sku) ?? 0) + s.qty / HISTORY_DAYS);
      history.set(facility, m);
    }
    return history.get(facility)!.get(sku);
  };
  const dcModel: Parameters<typeof planReplenishment>[0]['dcModelStock'] = [];
  const skipped: RunSummary['skipped'] = [];
  const nearest = new Map<string, { dc: string; km: number }>();
  for (const m of planning.modelStock.values()) {
    const f = byId.get(m.facility);
    if (!f) {
      skipped.push({ facility: m.facility, sku: m.sku, reason: 'no such facility' });
      continue;
    }
    if (f.enabled === false) {
      skipped.push({ facility: m.facility, sku: m.sku, reason: 'facility disabled' });
      continue;
    }
    const committed = ctx.index.reserved(m.facility, m.sku);
    const onHand = ctx.index.view(m.facility, m.sku)?.onHand ?? 0;
    // demand as it is now: the forecast, else the last 28 days of sales
    let daily = planning.daily(f.id, m.sku);
    if (daily !== null) source.forecast++;
    else {
      daily = (await salesDaily(f.id, m.sku)) ?? null;
      if (daily !== null) source.salesHistory++;
      else source.none++;
    }
    // days of supply are turned into units here, with the demand of today (not when it was saved)
    const { min, max } = modelTarget(m, daily ?? 0);
    if (f.type === 'dc') {
      dcModel.push({ dc: f.id, sku: m.sku, min, max, onHand, onOrder: planning.onOrder(f.id, m.sku) + planning.inTransit(f.id, m.sku), committed });
      continue;
    }
    let dc = f.servingDc && byId.get(f.servingDc)?.enabled !== false ? f.servingDc : undefined;
    if (!dc) {
      // no serving DC (or a disabled one): the nearest DC serves it, and the answer says so
      if (!nearest.has(f.id)) {
        const n = nearestDc(f, facilities, distanceKm);
        if (n) nearest.set(f.id, { dc: n.id, km: Math.round(distanceKm(f, n) * 10) / 10 });
      }
      dc = nearest.get(f.id)?.dc;
    }
    if (!dc) {
      skipped.push({ facility: m.facility, sku: m.sku, reason: 'no DC in the network to serve this store' });
      continue;
    }
    stores.push({
      store: f.id,
      dc,
      sku: m.sku,
      onHand,
      inTransit: planning.inTransit(f.id, m.sku),
      onOrder: planning.onOrder(f.id, m.sku),
      committed,
      min,
      max,
      daily: daily ?? 0,
    });
  }
  const servedByNearestDc = [...nearest].map(([store, n]) => ({ store, ...n }));
  const plan = planReplenishment({ stores, dcAvailable: (dc, sku) => ctx.index.available(dc, sku), dcModelStock: dcModel });
  const runId = createHash('sha256').update(JSON.stringify(plan.transfers)).digest('hex').slice(0, 10);

  // one transfer DO per (DC, store), a line per SKU
  const groups = new Map<string, typeof plan.transfers>();
  for (const t of plan.transfers) {
    const g = groups.get(`${t.from}|${t.to}`);
    if (g) g.push(t);
    else groups.set(`${t.from}|${t.to}`, [t]);
  }
  const now = new Date();
  const expectedAt = new Date(now.getTime() + LEAD_DAYS * 86_400_000).toISOString();
  const shipments: SupplyDoc[] = [];
  const withIds: RunSummary['transfers'] = [];
  for (const [k, ts] of groups) {
    const [dc, store] = k.split('|') as [string, string];
    const orderId = `RPL-${runId}-${store}`;
    const doId = ids.doId(orderId, 1, dc);
    const lines = ts.map((t, i) => ({
      line: i + 1,
      sku: t.sku,
      qty: t.qty,
      ...(ctx.items.get(t.sku)?.name ? { name: ctx.items.get(t.sku)!.name } : {}),
      ...(ctx.items.get(t.sku)?.barcode ? { barcode: ctx.items.get(t.sku)!.barcode } : {}),
    }));
    const d: DistributionOrderDoc = {
      _id: ids.do(doId),
      type: 'do',
      doId,
      orderId,
      attempt: 1,
      facility: dc,
      kind: 'transfer',
      lines,
      toFacility: store,
      promiseDate: expectedAt,
      createdAt: now.toISOString(),
    };
    for (const t of ts) withIds.push({ ...t, doId });
    const supplyLines = ts.map((t) => ({ sku: t.sku, qty: t.qty }));
    const inbound: InboundDoc = {
      _id: ids.inbound(doId),
      type: 'inbound',
      inboundId: doId,
      kind: 'transfer',
      facility: store,
      from: dc,
      expectedAt,
      lines: supplyLines,
      createdAt: now.toISOString(),
    };
    shipments.push({
      _id: `asn:${doId}`,
      type: 'asn',
      id: doId,
      facility: store,
      from: dc,
      expectedAt,
      lines: supplyLines,
      doId,
      createdAt: now.toISOString(),
      pending: true,
      transfer: { do: d, inbound },
    });
  }
  // Reserve what was decided before the first write: the allocator, or another run, reading the
  // DC's availability or the stores' supply meanwhile must not hand out the same units again.
  const summary = {
    ...plan,
    runId,
    stores: new Set(stores.map((s) => s.store)).size,
    skus: new Set(stores.map((s) => s.sku)).size,
    forecastSource: source,
    servedByNearestDc,
    skipped,
    dryRun,
  };
  if (dryRun) return { ...summary, transfers: withIds, created: 0 };
  const fresh = shipments.filter((x) => !planning.supply.has(x.id));
  for (const x of fresh) {
    planning.addSupply(x);
    const d = x.transfer!.do;
    ctx.index.applyDoState({ doId: d.doId, facility: d.facility, lines: d.lines, state: 'released', createdAt: d.createdAt });
  }
  // 1. the outbox: every in-transit record, each carrying its DO and its inbound, in one write;
  // 2. the DOs and the inbounds; 3. the records marked done. A run that dies between 1 and 3 is
  // finished at the next start (or run), so no transfer is ever half-issued.
  let created = 0;
  try {
    const res = await ctx.couch.db<SupplyDoc>('dom').bulk({ docs: fresh });
    res.forEach((r, i) => {
      if (r.rev) {
        fresh[i]!._rev = r.rev;
        created++;
      } else if (r.error !== 'conflict') throw new Error(`writing transfer ${fresh[i]!.id} failed: ${r.error} ${r.reason ?? ''}`);
      // a conflict: the same transfer was issued before (this plan again) and has since closed, so
      // it is no longer held here; the stored one stands, and the hold taken above for this copy goes
      // (ignored already where the index still knows the stored DO's later events)
      else {
        planning.supply.delete(fresh[i]!.id);
        ctx.index.forget(fresh[i]!.transfer!.do.doId);
      }
    });
  } catch (err) {
    for (const x of fresh) if (!x._rev) planning.supply.delete(x.id);
    throw err;
  }
  await finishTransfers(
    ctx,
    planning,
    fresh.filter((x) => x._rev),
  );
  return { ...summary, transfers: withIds, created };
}

/**
 * Steps 2 and 3 of a replenishment run for in-transit records still marked pending: write their
 * inbounds and DOs (already written: a conflict, which is success), then mark them done. Also what
 * the hub runs at start, for a run that died half-way.
 */
export async function finishTransfers(
  ctx: HubContext,
  planning: PlanningStore,
  docs: SupplyDoc[] = [...planning.supply.values()].filter((d) => d.pending && d.transfer),
): Promise<number> {
  const todo = docs.filter((d) => d.pending && d.transfer);
  if (!todo.length) return 0;
  for (const x of todo) {
    const d = x.transfer!.do;
    ctx.index.applyDoState({ doId: d.doId, facility: d.facility, lines: d.lines, state: 'released', createdAt: d.createdAt });
    await ctx.couch.ensureDb(nodeDbName(x.facility));
    await ctx.couch.db(nodeDbName(x.facility)).bulk({ docs: [x.transfer!.inbound] }); // a conflict means it is there
  }
  await writeDos(
    ctx.couch,
    todo.map((x) => x.transfer!.do),
  );
  const done = todo.map(({ pending, transfer, ...rest }) => rest as SupplyDoc);
  const res = await ctx.couch.db<SupplyDoc>('dom').bulk({ docs: done });
  res.forEach((r, i) => {
    if (!r.rev) return; // another instance finished it first
    done[i]!._rev = r.rev;
    planning.addSupply(done[i]!);
  });
  return todo.length;
}
