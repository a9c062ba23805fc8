/**
 * Planning state of Purchase Order Flow Management, in memory and in `dom`: purchase orders
 * (`po:`), in-transit shipments (`asn:`, transfers and suppliers' ASNs), model stock
 * (`modelstock:<facility>:<sku>`) and forecasts (`forecast:<facility>:<sku>`). Receipts written at
 * the nodes (`rcpt:`) close what they receive. Backordered order lines are promised against
 * incoming supply here, in rank order.
 */
import type { Couch } from '../couch/index.js';
import { pagedPrefix } from '../inventory/index.js';
import { nodeDbName } from '../../shared/ids.js';
import type { DistributionOrderDoc, InboundDoc, ReceiptDoc } from '../../shared/schemas.js';
import { compareStrings } from '../../shared/rank.js';

export interface SupplyLine {
  sku: string;
  qty: number;
}

export interface SupplyDoc {
  _id: string;
  _rev?: string;
  type: 'po' | 'asn';
  id: string;
  /** The receiving facility. */
  facility: string;
  supplier?: string;
  from?: string;
  expectedAt: string;
  lines: SupplyLine[];
  bodyHash?: string;
  /** The transfer DO this shipment carries, when it comes from replenishment. */
  doId?: string;
  createdAt: string;
  /** A replenishment transfer decided but not yet fully written (hub/planning/run.ts): its DO and inbound. */
  pending?: boolean;
  transfer?: { do: DistributionOrderDoc; inbound: InboundDoc };
}

export interface ModelStockDoc {
  _id: string;
  _rev?: string;
  type: 'modelstock';
  facility: string;
  sku: string;
  min: number;
  max: number;
  daysOfSupply?: number;
  updatedAt: string;
}

export interface ForecastDoc {
  _id: string;
  _rev?: string;
  type: 'forecast';
  facility: string;
  sku: string;
  /** Daily units by date (YYYY-MM-DD); weekly figures are spread over their 7 days. */
  days: Record<string, number>;
  updatedAt: string;
}

const key = (f: string, sku: string) => `${f}|${sku}`;

export class PlanningStore {
  readonly supply = new Map<string, SupplyDoc>(); // inbound id → doc
  private received = new Map<string, Map<string, number>>(); // inbound id → sku → units received
  private seenReceipts = new Set<string>();
  readonly modelStock = new Map<string, ModelStockDoc>();
  readonly forecasts = new Map<string, ForecastDoc>();
  /** Backordered lines waiting for supply: orderId → rank key and lines. */
  private backorders = new Map<string, { rank: string; lines: { line: number; sku: string; qty: number; facility?: string }[] }>();
  private promisesCache: Map<string, Map<number, string | null>> | null = null;
  private consumed = new Map<string, number>(); // sku → incoming units promised

  async load(couch: Couch, nodeDbs: string[]): Promise<void> {
    const dom = couch.db<SupplyDoc>('dom');
    for (const d of [...(await pagedPrefix(dom, 'po:')), ...(await pagedPrefix(dom, 'asn:'))]) this.supply.set(d.id, d);
    for (const d of await pagedPrefix(couch.db<ModelStockDoc>('dom'), 'modelstock:')) this.modelStock.set(key(d.facility, d.sku), d);
    for (const d of await pagedPrefix(couch.db<ForecastDoc>('dom'), 'forecast:')) this.forecasts.set(key(d.facility, d.sku), d);
    for (const db of nodeDbs) this.applyReceipts(await pagedPrefix(couch.db<ReceiptDoc>(db), 'rcpt:').catch(() => []));
  }

  applyReceipts(rcpts: ReceiptDoc[]): void {
    for (const r of rcpts) {
      if (this.seenReceipts.has(r._id)) continue;
      this.seenReceipts.add(r._id);
      const m = this.received.get(r.inboundId) ?? new Map<string, number>();
      for (const l of r.lines) m.set(l.sku, (m.get(l.sku) ?? 0) + l.qty);
      this.received.set(r.inboundId, m);
    }
    this.promisesCache = null;
  }

  addSupply(d: SupplyDoc): void {
    this.supply.set(d.id, d);
    this.promisesCache = null;
  }

  /** Units of an inbound not yet received, per SKU (over-receipts close a line, never go negative). */
  remaining(d: SupplyDoc): SupplyLine[] {
    const got = this.received.get(d.id);
    return d.lines.map((l) => ({ sku: l.sku, qty: Math.max(0, l.qty - (got?.get(l.sku) ?? 0)) })).filter((l) => l.qty > 0);
  }

  private open(facility: string, sku: string, type: 'po' | 'asn'): number {
    let n = 0;
    for (const d of this.supply.values()) {
      if (d.facility !== facility || d.type !== type) continue;
      for (const l of this.remaining(d)) if (l.sku === sku) n += l.qty;
    }
    return n;
  }

  onOrder = (facility: string, sku: string) => this.open(facility, sku, 'po');
  inTransit = (facility: string, sku: string) => this.open(facility, sku, 'asn');

  /** Incoming supply of a SKU by expected date, across the network. */
  incoming(sku: string): { facility: string; date: string; qty: number; id: string }[] {
    const out: { facility: string; date: string; qty: number; id: string }[] = [];
    for (const d of this.supply.values())
      for (const l of this.remaining(d)) if (l.sku === sku) out.push({ facility: d.facility, date: d.expectedAt, qty: l.qty, id: d.id });
    return out.sort((a, b) => a.date.localeCompare(b.date) || a.id.localeCompare(b.id));
  }

  setModelStock(d: ModelStockDoc) {
    this.modelStock.set(key(d.facility, d.sku), d);
  }

  getModelStock(facility: string, sku: string): ModelStockDoc | undefined {
    return this.modelStock.get(key(facility, sku));
  }

  setForecast(d: ForecastDoc) {
    this.forecasts.set(key(d.facility, d.sku), d);
  }

  /** Forecast daily demand over the next `horizonDays` (null when there is no forecast). */
  daily(facility: string, sku: string, today = new Date(), horizonDays = 28): number | null {
    const f = this.forecasts.get(key(facility, sku));
    if (!f) return null;
    const start = today.toISOString().slice(0, 10);
    const end = new Date(today.getTime() + horizonDays * 86_400_000).toISOString().slice(0, 10);
    const future = Object.entries(f.days).filter(([d]) => d >= start && d < end);
    const rows = future.length ? future : Object.entries(f.days);
    if (!rows.length) return 0;
    // the average over the days the forecast covers (a one-week upload is a weekly rate, not a quarter of a month)
    return rows.reduce((s, [, q]) => s + q, 0) / rows.length;
  }

  // ------------------------------------------------------------------ promises for backorders

  setBackorder(orderId: string, rank: string, lines: { line: number; sku: string; qty: number }[]): void {
    if (lines.length) this.backorders.set(orderId, { rank, lines });
    else this.backorders.delete(orderId);
    this.promisesCache = null;
  }

  clearBackorder(orderId: string): void {
    if (this.backorders.delete(orderId)) this.promisesCache = null;
  }

  /** Incoming supply promised to backorders, in rank order: orderId → line → date (null: none in sight). */
  promises(): Map<string, Map<number, string | null>> {
    if (this.promisesCache) return this.promisesCache;
    const out = new Map<string, Map<number, string | null>>();
    const ranked = [...this.backorders].sort(([a, x], [b, y]) => compareStrings(x.rank, y.rank) || compareStrings(a, b));
    const pools = new Map<string, { date: string; qty: number }[]>();
    this.consumed = new Map();
    const pool = (sku: string) => {
      let p = pools.get(sku);
      if (!p) pools.set(sku, (p = this.incoming(sku).map((x) => ({ date: x.date, qty: x.qty }))));
      return p;
    };
    for (const [orderId, b] of ranked) {
      const m = new Map<number, string | null>();
      for (const l of b.lines) {
        let need = l.qty;
        let date: string | null = null;
        for (const s of pool(l.sku)) {
          if (need <= 0) break;
          const take = Math.min(need, s.qty);
          if (take <= 0) continue;
          s.qty -= take;
          need -= take;
          this.consumed.set(l.sku, (this.consumed.get(l.sku) ?? 0) + take);
          date = s.date;
        }
        m.set(l.line, need > 0 ? null : date);
      }
      out.set(orderId, m);
    }
    this.promisesCache = out;
    return out;
  }

  /** Incoming units of a SKU not promised to any backorder, by date. */
  unpromised(sku: string): { facility: string; date: string; qty: number }[] {
    const incoming = this.incoming(sku);
    this.promises();
    let promised = this.consumed.get(sku) ?? 0;
    const out: { facility: string; date: string; qty: number }[] = [];
    for (const s of incoming) {
      const take = Math.min(promised, s.qty);
      promised -= take;
      if (s.qty - take > 0) out.push({ facility: s.facility, date: s.date, qty: s.qty - take });
    }
    return out;
  }

  nodeDb = nodeDbName;
}
