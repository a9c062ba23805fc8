/**
 * Which facilities may serve one order, as the network stands: its destination, its nearest
 * eligible facilities (a few more than it uses, as some fill up), its nearest DCs however many
 * stores are nearer, its pickup store; and, when those cannot fill a line, the nearest facilities
 * that hold the line's SKU.
 */
import { distanceKm } from '../../shared/geo.js';
import { kmOfDot, type Found, type Point } from './facility-index.js';
import type { Network } from './network.js';
import type { Candidate } from './plan.js';
import type { SourcingOrder, SourcingStrategy } from './strategy.js';
import type { Workspace } from './workspace.js';

/** Nearest eligible facilities remembered per order beyond maxCandidates, for re-planning after some fill up. */
const SPARE_CANDIDATES = 4;
/** Up to this many facilities that hold the SKUs, they are scanned; beyond, the grid is searched. */
const HOLDER_SCAN = 512;

/** Where the order goes: its ship-to point, or its pickup store; null when unknown. */
export function destination(net: Network, order: SourcingOrder): Point | null {
  if (order.delivery === 'pickup') {
    const fi = order.pickupFacility === undefined ? undefined : net.indexOf(order.pickupFacility);
    return fi === undefined ? null : net.facilities[fi]!;
  }
  return order.shipTo ?? null;
}

/** A candidate; `dot` (from the search) gives the great-circle distance without the haversine. */
export function candidate(net: Network, order: SourcingOrder, s: SourcingStrategy, to: Point, fi: number, dot?: number): Candidate {
  const f = net.facilities[fi]!;
  const km = dot === undefined ? distanceKm(f, to) : kmOfDot(dot);
  return { fi, km, ship: s.shipmentCost(f, km, order), unit: s.unitCost(f) };
}

function candidatesFound(net: Network, order: SourcingOrder, s: SourcingStrategy, to: Point, found: Found): Candidate[] {
  const out: Candidate[] = [];
  for (let j = 0; j < found.ids.length; j++) out.push(candidate(net, order, s, to, found.ids[j]!, found.dots[j]!));
  return out;
}

/**
 * What an order's planning needs of the map, worked out once per order and batch: its destination,
 * its nearest eligible facilities (a few more than it uses, as some fill up) and nearest DCs.
 */
export interface OrderReach {
  to: Point | null;
  /** the order's eligibility per facility (Network.eligibleMemo) */
  memo: Uint8Array;
  near: Candidate[];
  /** the search found fewer than it asked for: `near` is every eligible facility in reach */
  complete: boolean;
  dcs: Candidate[];
  pickup: Candidate | null;
}

export function reachOf(ws: Workspace, net: Network, order: SourcingOrder, s: SourcingStrategy): OrderReach {
  const to = destination(net, order);
  const memo = net.eligibleMemo(s, order);
  if (!to) return { to, memo, near: [], complete: true, dcs: [], pickup: null };
  ws.query(net, order, s, memo);
  const want = s.maxCandidates + SPARE_CANDIDATES;
  const near = candidatesFound(net, order, s, to, net.search(to, want, s.maxDistanceKm, ws.okEligible));
  const dcs = candidatesFound(net, order, s, to, net.nearestDcs(to, s.maxDcCandidates ?? 0, s.maxDistanceKm, ws.okEligible));
  let pickup: Candidate | null = null;
  if (order.delivery === 'pickup') {
    // the pickup store itself is always a candidate when it may hand over
    const pf = net.indexOf(order.pickupFacility!);
    if (pf !== undefined && ws.eligible(pf)) pickup = candidate(net, order, s, to, pf);
  }
  return { to, memo, near, complete: near.length < want, dcs, pickup };
}

/** The candidates as the network stands: the nearest eligible with capacity left, the nearest DCs, the pickup store. */
export function candidates(ws: Workspace, net: Network, order: SourcingOrder, s: SourcingStrategy, reach: OrderReach): Candidate[] {
  const out: Candidate[] = [];
  const cap = net.capacity;
  if (reach.pickup && cap[reach.pickup.fi]! > 0) out.push(reach.pickup);
  let n = 0;
  for (const c of reach.near) {
    if (n >= s.maxCandidates) break;
    if (cap[c.fi]! <= 0) continue;
    n++;
    if (c !== reach.pickup && (!reach.pickup || c.fi !== reach.pickup.fi)) out.push(c);
  }
  if (n < s.maxCandidates && !reach.complete) {
    // more of the nearest are full than we kept spares for: search again, among those with capacity
    out.length = 0;
    if (reach.pickup && cap[reach.pickup.fi]! > 0) out.push(reach.pickup);
    ws.query(net, order, s, reach.memo);
    for (const c of candidatesFound(net, order, s, reach.to!, net.search(reach.to!, s.maxCandidates, s.maxDistanceKm, ws.okCandidate)))
      if (!reach.pickup || c.fi !== reach.pickup.fi) out.push(c);
  }
  // the nearest DCs with capacity left (a short list: searched afresh)
  let dcs = reach.dcs;
  let full = 0;
  for (const h of dcs) if (cap[h.fi]! <= 0) full++;
  if (full > 0) {
    ws.query(net, order, s, reach.memo);
    dcs = candidatesFound(net, order, s, reach.to!, net.nearestDcs(reach.to!, s.maxDcCandidates ?? 0, s.maxDistanceKm, ws.okCandidate));
  }
  for (const h of dcs) {
    if (cap[h.fi]! <= 0) continue;
    let dup = false;
    for (const c of out) if (c.fi === h.fi) dup = true;
    if (!dup) out.push(h);
  }
  return out;
}

/** The nearest eligible facilities with capacity that hold any of the SKUs `ids`, not already in `have`. */
export function holders(
  ws: Workspace,
  net: Network,
  order: SourcingOrder,
  s: SourcingStrategy,
  reach: OrderReach,
  ids: number[],
  have: Candidate[],
  k: number,
): Candidate[] {
  if (ids.length === 0 || !reach.to) return [];
  const rows: Int32Array[] = [];
  const lists: (readonly number[])[] = [];
  let n = 0;
  for (const id of ids) {
    rows.push(net.rowAt(id));
    const l = net.holdersOf(id);
    lists.push(l);
    n += l.length;
  }
  ws.query(net, order, s, reach.memo, rows, have);
  const found =
    n <= HOLDER_SCAN ? net.index.searchAmong(reach.to, lists, k, s.maxDistanceKm, ws.okHolder) : net.search(reach.to, k, s.maxDistanceKm, ws.okHolder);
  return candidatesFound(net, order, s, reach.to, found);
}
