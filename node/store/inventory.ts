/**
 * The node's inventory position, derived from its append-only ledger. Pure: given the ledger
 * entries and the open DOs, compute on hand, reserved and available per SKU. The node stores the
 * result as `inv:<sku>` documents, and recomputes them from the ledger at start, so a crash between
 * a ledger write and its position write loses nothing.
 */
import type { AdjustmentDoc, DistributionOrderDoc, DoEventDoc, ReceiptDoc, SaleDoc } from '../../shared/schemas.js';
import type { DoState } from '../../shared/states.js';

export type LedgerEntry = SaleDoc | AdjustmentDoc | ReceiptDoc | DoEventDoc;

export interface Position {
  sku: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
}

export interface OpenDo {
  doc: DistributionOrderDoc;
  state: DoState;
  picked?: Record<string, number>;
}

/** Units leaving the building when a DO ships or is picked up: what was picked, per SKU. */
export function issuedBy(doc: DistributionOrderDoc, picked: Record<string, number> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of doc.lines) {
    const q = picked ? (picked[String(l.line)] ?? 0) : l.qty;
    out.set(l.sku, (out.get(l.sku) ?? 0) + q);
  }
  return out;
}

const RELEASED_STATES: ReadonlySet<DoState> = new Set(['shipped', 'picked_up', 'rejected', 'cancelled']);

/** Units held for DOs that are still open: the ordered quantity, or what was picked once picked. */
export function reservedBySku(dos: Iterable<OpenDo>): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of dos) {
    if (RELEASED_STATES.has(d.state)) continue;
    for (const l of d.doc.lines) {
      const q = d.picked ? (d.picked[String(l.line)] ?? 0) : l.qty;
      out.set(l.sku, (out.get(l.sku) ?? 0) + q);
    }
  }
  return out;
}

/**
 * On hand per SKU from the ledger, in time order: an adjustment sets the count, receipts add,
 * sales and shipments subtract. `dosById` resolves the SKUs of shipment events.
 */
export function onHandFromLedger(
  entries: LedgerEntry[],
  dosById: ReadonlyMap<string, DistributionOrderDoc>,
  picks: ReadonlyMap<string, Record<string, number>>,
): Map<string, number> {
  const onHand = new Map<string, number>();
  const add = (sku: string, q: number) => onHand.set(sku, (onHand.get(sku) ?? 0) + q);
  const ordered = [...entries].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a._id < b._id ? -1 : 1));
  for (const e of ordered) {
    switch (e.type) {
      case 'adj':
        onHand.set(e.sku, e.onHand);
        break;
      case 'rcpt':
        for (const l of e.lines) add(l.sku, l.qty);
        break;
      case 'sale':
        add(e.sku, -e.qty);
        break;
      case 'evt': {
        if (e.status !== 'shipped' && e.status !== 'picked_up') break;
        const d = dosById.get(e.doId);
        if (!d) break;
        for (const [sku, q] of issuedBy(d, picks.get(e.doId))) add(sku, -q);
        break;
      }
    }
  }
  return onHand;
}

export function position(sku: string, onHand: number, reserved: number, safetyStock: number): Position {
  return { sku, onHand, reserved, safetyStock, available: Math.max(0, onHand - reserved - safetyStock) };
}
