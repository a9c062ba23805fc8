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
  /** When every line was received: from then on the document is in `dom` only, not in the hub's memory. */
  closedAt?: string;
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

/** How long receipts for an inbound this instance does not hold wait for its document (another instance's, not yet on the feed). */
const ORPHAN_RECEIPTS_MS = 3600_000;

export class PlanningStore {
  /**
   * The open supply, by inbound id: purchase orders and shipments with something still to receive
   * (or a transfer still being written). One whose every line is received leaves memory (`closed`),
   * so that the hub's memory, and every sum over the supply, follows the open supply and not every
   * PO since the start (the soak, docs/RELIABILITY.md); it stays in `dom` with its `closedAt`.
   */
  readonly supply = new Map<string, SupplyDoc>();
  /** inbound id → what its receipts brought, by SKU, and which receipts were counted */
  private received = new Map<string, { units: Map<string, number>; receipts: Set<string> }>();
  /** inbound id → when receipts for it came while its document was not held here (oldest first) */
  private orphans = new Map<string, number>();
  /** Told of each inbound as it closes, with `closedAt` set: the hub stores that (hub/index.ts). */
  onClosed: (doc: SupplyDoc) => void = () => undefined;
  /** The inbounds closed here lately, until their `closedAt` is surely stored (a read of `dom` meanwhile shows it not yet). */
  private recentlyClosed = new Map<string, string>();
  readonly modelStock = new Map<string, ModelStockDoc>();
  readonly forecasts = new Map<string, ForecastDoc>();
  /** Backordered lines waiting for supply: orderId → rank key and lines. */
  private backorders = new Map<string, { rank: string; lines: { line: number; sku: string; qty: number; facility?: string }[] }>();
  private promisesCache: Map<string, Map<number, string | null>> | null = null;
  private consumed = new Map<string, number>(); // sku → incoming units promised

  async load(couch: Couch, nodeDbs: string[]): Promise<void> {
    const dom = couch.db<SupplyDoc>('dom');
    const closed = new Set<string>();
    for (const d of [...(await pagedPrefix(dom, 'po:')), ...(await pagedPrefix(dom, 'asn:'))]) {
      if (d.closedAt) closed.add(d.id);
      else this.supply.set(d.id, d);
    }
    for (const d of await pagedPrefix(couch.db<ModelStockDoc>('dom'), 'modelstock:')) this.modelStock.set(key(d.facility, d.sku), d);
    for (const d of await pagedPrefix(couch.db<ForecastDoc>('dom'), 'forecast:')) this.forecasts.set(key(d.facility, d.sku), d);
    for (const db of nodeDbs) {
      const rcpts = await pagedPrefix(couch.db<ReceiptDoc>(db), 'rcpt:').catch(() => []);
      this.applyReceipts(rcpts.filter((r) => !closed.has(r.inboundId)));
    }
  }

  applyReceipts(rcpts: ReceiptDoc[]): void {
    const touched = new Set<string>();
    for (const r of rcpts) {
      let got = this.received.get(r.inboundId);
      if (!got) this.received.set(r.inboundId, (got = { units: new Map(), receipts: new Set() }));
      if (got.receipts.has(r._id)) continue;
      got.receipts.add(r._id);
      for (const l of r.lines) got.units.set(l.sku, (got.units.get(l.sku) ?? 0) + l.qty);
      touched.add(r.inboundId);
    }
    const now = Date.now();
    for (const id of touched) {
      const d = this.supply.get(id);
      if (d) this.closeIfReceived(d);
      else if (!this.orphans.has(id)) this.orphans.set(id, now);
    }
    // receipts for an inbound never seen here within the hour (one closed long ago, counted again): let go
    for (const [id, at] of this.orphans) {
      if (now - at < ORPHAN_RECEIPTS_MS) break;
      this.orphans.delete(id);
      if (!this.supply.has(id)) this.received.delete(id);
    }
    this.promisesCache = null;
  }

  addSupply(d: SupplyDoc): void {
    this.promisesCache = null;
    if (d.closedAt) {
      // closed (by this instance or another): kept in `dom` only
      this.supply.delete(d.id);
      this.received.delete(d.id);
      this.orphans.delete(d.id);
      return;
    }
    // an older copy of one this instance has just closed (the feed behind the write of its closedAt)
    if (this.recentlyClosed.has(d.id)) return;
    this.supply.set(d.id, d);
    this.orphans.delete(d.id);
    this.closeIfReceived(d);
  }

  /** An inbound with every line received (and nothing left to write) leaves memory, and `onClosed` stores when. */
  private closeIfReceived(d: SupplyDoc): void {
    if (d.pending || this.remaining(d).length > 0) return;
    this.supply.delete(d.id);
    this.received.delete(d.id);
    this.promisesCache = null;
    const closedAt = new Date().toISOString();
    this.recentlyClosed.set(d.id, closedAt);
    if (this.recentlyClosed.size > 1_000) this.recentlyClosed.delete(this.recentlyClosed.keys().next().value!);
    this.onClosed({ ...d, closedAt });
  }

  /** A stored inbound as the API shows it: its `closedAt` when closed here though not yet stored. */
  withClosed(d: SupplyDoc): SupplyDoc {
    const closedAt = d.closedAt ?? this.recentlyClosed.get(d.id);
    return closedAt ? { ...d, closedAt } : d;
  }

  /** Units of an inbound not yet received, per SKU (over-receipts close a line, never go negative); none once closed. */
  remaining(d: SupplyDoc): SupplyLine[] {
    if (d.closedAt) return [];
    const got = this.received.get(d.id)?.units;
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
