/**
 * Customer orders: the stored document (the API body is shared/bodies/orders.ts), and the roll-up
 * of DO states into line and order status. Everything about a line's progress is derived from its
 * DOs' states, so re-sourcing needs no bookkeeping of its own: units a DO will not deliver (short
 * pick, rejection) are simply not covered any more, and the allocator covers them again, elsewhere.
 */
import type { OrderBody } from '../../shared/bodies/orders.js';
import type { DoLine, DistributionOrderDoc } from '../../shared/schemas.js';
import { DONE_DO_STATES, TERMINAL_DO_STATES, type LineStatus, type OrderStatus, type DoState } from '../../shared/states.js';
import type { DoStateDoc } from '../../shared/dostate.js';

export interface Allocation {
  attempt: number;
  doId: string;
  facility: string;
  kind: DistributionOrderDoc['kind'];
  lines: DoLine[];
  /** For a handover DO at a pickup store: the transfer it hands over. */
  handoverOf?: string;
}

export interface OrderDoc extends OrderBody {
  _id: string;
  _rev?: string;
  type: 'order';
  bodyHash: string;
  receivedAt: string;
  createdAt: string;
  status: OrderStatus;
  attempts: number;
  allocations: Allocation[];
  explanations: { attempt: number; at: string; [k: string]: unknown }[];
  cancelRequested?: boolean;
  /** Allocation was tried and something stayed unfilled. */
  backorderedAt?: string;
  updatedAt: string;
}

export interface LineView {
  line: number;
  sku: string;
  qty: number;
  status: LineStatus;
  delivered: number;
  open: number;
  /** Units not covered by any live DO: what the allocator still has to place. */
  unallocated: number;
  allocations: { facility: string; sku: string; qty: number; doId: string; doStatus: DoState; kind: string }[];
  /** Facilities that came up short or rejected this line. */
  excluded: string[];
}

const ACTIVE_WORK: ReadonlySet<DoState> = new Set(['acknowledged', 'picked', 'short_picked', 'packed']);

function unitsFor(s: DoStateDoc | undefined, l: DoLine): number {
  if (!s) return l.qty; // the DO is written but its state not yet read: count it as released
  if (s.state === 'rejected' || s.state === 'cancelled') return 0;
  return s.picked ? Math.min(l.qty, s.picked[String(l.line)] ?? 0) : l.qty;
}

export function lineViews(order: OrderDoc, states: ReadonlyMap<string, DoStateDoc>): LineView[] {
  const handedOver = new Set(order.allocations.filter((a) => a.handoverOf).map((a) => a.handoverOf!));
  return order.lines.map((ol) => {
    const v: LineView = { line: ol.line, sku: ol.sku, qty: ol.qty, status: 'received', delivered: 0, open: 0, unallocated: 0, allocations: [], excluded: [] };
    let ready = 0;
    let working = false;
    let cancelled = 0;
    for (const a of order.allocations) {
      const s = states.get(a.doId);
      for (const dl of a.lines) {
        if ((dl.orderLine ?? dl.line) !== ol.line) continue;
        const state: DoState = s?.state ?? 'released';
        v.allocations.push({ facility: a.facility, sku: dl.sku, qty: dl.qty, doId: a.doId, doStatus: state, kind: a.kind });
        const units = unitsFor(s, dl);
        if (units < dl.qty && (state === 'rejected' || s?.picked)) v.excluded.push(a.facility);
        if (state === 'cancelled') cancelled += dl.qty;
        // a transfer for a pickup order delivers nothing itself: its handover DO does
        if (a.kind === 'transfer' && order.delivery === 'pickup') {
          if (handedOver.has(a.doId)) continue;
          if (state !== 'rejected' && state !== 'cancelled') v.open += units;
          if ((ACTIVE_WORK.has(state) && units > 0) || state === 'shipped') working = true;
          continue;
        }
        if (state === 'shipped' || state === 'picked_up') v.delivered += units;
        else if (state !== 'rejected' && state !== 'cancelled') {
          v.open += units;
          if (state === 'ready_for_pickup') ready += units;
          if (ACTIVE_WORK.has(state) && units > 0) working = true;
        }
      }
    }
    v.unallocated = Math.max(0, ol.qty - v.delivered - v.open);
    v.excluded = [...new Set(v.excluded)];
    const c = order.cancelRequested;
    v.status =
      v.delivered >= ol.qty
        ? order.delivery === 'pickup'
          ? 'picked_up'
          : 'shipped'
        : c && v.open === 0
          ? v.delivered > 0
            ? 'partially_shipped'
            : 'cancelled'
          : v.delivered > 0
            ? 'partially_shipped'
            : ready > 0 && ready >= ol.qty
              ? 'ready_for_pickup'
              : working || ready > 0
                ? 'in_fulfilment'
                : v.open >= ol.qty
                  ? 'released'
                  : v.open > 0
                    ? 'partially_allocated'
                    : cancelled > 0 && c
                      ? 'cancelled'
                      : order.backorderedAt
                        ? 'backordered'
                        : 'received';
    return v;
  });
}

export function orderStatus(order: OrderDoc, lines: LineView[]): OrderStatus {
  const all = (...s: LineStatus[]) => lines.every((l) => s.includes(l.status));
  const any = (...s: LineStatus[]) => lines.some((l) => s.includes(l.status));
  if (all('cancelled')) return 'cancelled';
  if (all('shipped', 'picked_up')) return order.delivery === 'pickup' ? 'completed' : 'shipped';
  // some of it reached the customer; the rest is still coming, or was cancelled
  if (any('shipped', 'picked_up', 'partially_shipped')) return 'partially_shipped';
  if (all('ready_for_pickup', 'cancelled')) return 'ready_for_pickup';
  if (any('in_fulfilment', 'ready_for_pickup')) return 'in_fulfilment';
  if (all('released')) return 'released';
  if (any('released', 'partially_allocated')) return 'partially_allocated';
  if (all('backordered')) return 'backordered';
  if (any('backordered')) return 'partially_allocated';
  return 'received';
}

/**
 * What cancelling an order does: refused once it has shipped or completed (`already`); otherwise
 * each DO not finished is to be cancelled at its facility, and each that has shipped or been picked
 * up already stays (`tooLate`). DOs rejected or cancelled already need nothing.
 */
export function cancelPlan(
  order: Pick<OrderDoc, 'status' | 'allocations'>,
  stateOf: (doId: string) => DoState,
): { already?: 'shipped' | 'completed'; cancel: Allocation[]; tooLate: string[] } {
  if (order.status === 'shipped' || order.status === 'completed') return { already: order.status, cancel: [], tooLate: [] };
  const cancel: Allocation[] = [];
  const tooLate: string[] = [];
  for (const a of order.allocations) {
    const s = stateOf(a.doId);
    if (DONE_DO_STATES.has(s)) tooLate.push(a.doId);
    else if (!TERMINAL_DO_STATES.has(s)) cancel.push(a);
  }
  return { cancel, tooLate };
}
