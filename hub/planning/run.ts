/**
 * The replenishment run (I/O around planReplenishment): gather positions, supply, model stock and
 * forecasts; plan; then write each store's transfer as a DO at its serving DC (with an `inbound:`
 * document at the store and an in-transit record), released like any DO. Ids derive from the
 * plan itself, so running again on the same inputs writes nothing new.
 */
import { createHash } from 'node:crypto';
import type { HubContext } from '../context.js';
import type { PlanningStore, SupplyDoc } from './store.js';
import { planReplenishment, type StoreNeedInput, type ReplenishmentPlan } from './replenish.js';
import { ids, nodeDbName } from '../../shared/ids.js';
import type { DistributionOrderDoc, InboundDoc, SaleDoc } from '../../shared/schemas.js';
import { writeDos } from '../dos.js';
import { pagedPrefix } from '../inventory/index.js';
import { isStatus } from '../../shared/errors.js';

export interface RunSummary extends ReplenishmentPlan {
  runId: string;
  transfers: (ReplenishmentPlan['transfers'][number] & { doId: string })[];
  created: number;
  stores: number;
  skus: number;
  forecastSource: { forecast: number; salesHistory: number; none: number };
}

const LEAD_DAYS = 2;
const HISTORY_DAYS = 28;

export async function runReplenishment(ctx: HubContext, planning: PlanningStore): Promise<RunSummary> {
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
  for (const m of planning.modelStock.values()) {
    const f = byId.get(m.facility);
    if (!f) continue;
    const committed = ctx.index.reserved(m.facility, m.sku);
    const onHand = ctx.index.view(m.facility, m.sku)?.onHand ?? 0;
    if (f.type === 'dc') {
      dcModel.push({ dc: f.id, sku: m.sku, min: m.min, max: m.max, onHand, onOrder: planning.onOrder(f.id, m.sku) + planning.inTransit(f.id, m.sku), committed });
      continue;
    }
    if (!f.servingDc) continue;
    let daily = planning.daily(f.id, m.sku);
    if (daily !== null) source.forecast++;
    else {
      daily = (await salesDaily(f.id, m.sku)) ?? null;
      if (daily !== null) source.salesHistory++;
      else source.none++;
    }
    stores.push({ store: f.id, dc: f.servingDc, sku: m.sku, onHand, inTransit: planning.inTransit(f.id, m.sku), onOrder: planning.onOrder(f.id, m.sku), committed, min: m.min, max: m.max, daily: daily ?? 0 });
  }
  const plan = planReplenishment({ stores, dcAvailable: (dc, sku) => ctx.index.available(dc, sku), dcModelStock: dcModel });
  const runId = createHash('sha256').update(JSON.stringify(plan.transfers)).digest('hex').slice(0, 10);

  // one transfer DO per (DC, store), a line per SKU
  const groups = new Map<string, typeof plan.transfers>();
  for (const t of plan.transfers) groups.set(`${t.from}|${t.to}`, [...(groups.get(`${t.from}|${t.to}`) ?? []), t]);
  const now = new Date();
  const expectedAt = new Date(now.getTime() + LEAD_DAYS * 86_400_000).toISOString();
  const dos: DistributionOrderDoc[] = [];
  const withIds: RunSummary['transfers'] = [];
  let created = 0;
  for (const [k, ts] of groups) {
    const [dc, store] = k.split('|') as [string, string];
    const orderId = `RPL-${runId}-${store}`;
    const doId = ids.doId(orderId, 1, dc);
    const lines = ts.map((t, i) => ({ line: i + 1, sku: t.sku, qty: t.qty, ...(ctx.items.get(t.sku)?.name ? { name: ctx.items.get(t.sku)!.name } : {}), ...(ctx.items.get(t.sku)?.barcode ? { barcode: ctx.items.get(t.sku)!.barcode } : {}) }));
    dos.push({ _id: ids.do(doId), type: 'do', doId, orderId, attempt: 1, facility: dc, kind: 'transfer', lines, toFacility: store, promiseDate: expectedAt, createdAt: now.toISOString() });
    for (const t of ts) withIds.push({ ...t, doId });
    const shipment: SupplyDoc = { _id: `asn:${doId}`, type: 'asn', id: doId, facility: store, from: dc, expectedAt, lines: ts.map((t) => ({ sku: t.sku, qty: t.qty })), doId, createdAt: now.toISOString() };
    try {
      await ctx.couch.db<SupplyDoc>('dom').insert(shipment);
      created++;
      planning.addSupply(shipment);
    } catch (err) {
      if (!isStatus(err, 409)) throw err; // this run already happened; finish its writes below
    }
    const inbound: InboundDoc = { _id: ids.inbound(doId), type: 'inbound', inboundId: doId, kind: 'transfer', facility: store, from: dc, expectedAt, lines: shipment.lines, createdAt: now.toISOString() };
    await ctx.couch.ensureDb(nodeDbName(store));
    await ctx.couch.db(nodeDbName(store)).bulk({ docs: [inbound] }); // a conflict means it is there
  }
  await writeDos(ctx.couch, dos);
  for (const d of dos) ctx.index.applyDoState({ doId: d.doId, facility: d.facility, lines: d.lines, state: 'released', createdAt: d.createdAt });
  return { ...plan, transfers: withIds, runId, created, stores: new Set(stores.map((s) => s.store)).size, skus: new Set(stores.map((s) => s.sku)).size, forecastSource: source };
}
