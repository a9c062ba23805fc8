/**
 * Sourcing strategies: pluggable decisions over plain data, in the manner of Vendure's
 * StockLocationStrategy. A strategy says which facilities may serve an order (hard limits) and what
 * a shipment and a unit cost there; the allocator (core.ts and the modules it re-exports) does the rest. Configured per channel
 * or delivery method.
 */
import type { Costs } from '../../shared/instance.js';

export interface SourcingFacility {
  id: string;
  type: 'store' | 'dc';
  lat: number;
  lon: number;
  /** Units the facility can ship per day (per batch, in `dom allocate`). */
  capacity: number;
  priority: number;
  shipFromStore: boolean;
  pickup: boolean;
  enabled?: boolean;
}

export interface SourcingLine {
  line: number;
  sku: string;
  qty: number;
  allowSubstitutes: boolean;
  /** Facilities that must not serve this line (they came up short or rejected it). */
  exclude?: readonly string[];
}

export interface SourcingOrder {
  id: string;
  priority: number;
  createdAt: string;
  dueDate?: string;
  channel?: string;
  shipTo?: { lat: number; lon: number };
  delivery: 'ship' | 'pickup';
  pickupFacility?: string;
  lines: SourcingLine[];
}

export interface SourcingStrategy {
  readonly name: string;
  /** How many eligible facilities, nearest first, the optimiser considers. */
  readonly maxCandidates: number;
  /** How many of the nearest DCs are candidates as well, however many stores are nearer (default 0). */
  readonly maxDcCandidates?: number;
  readonly maxDistanceKm: number;
  /** Null when the facility may ship this order, else the reason it may not. */
  eligible(f: SourcingFacility, order: SourcingOrder): string | null;
  /**
   * Optional: orders with the same key get the same answers from `eligible` for every facility, so
   * the optimiser may remember them across orders (without it, it remembers them within an order).
   */
  eligibilityKey?(order: SourcingOrder): string;
  /** A pickup order handed over at its own store moves nothing: no shipment there. */
  shipmentCost(f: SourcingFacility, km: number, order: SourcingOrder): number;
  unitCost(f: SourcingFacility): number;
}

/** The default: the contract's cost (docs/CONTRACT.md), `perShipment + perKm·km` per shipment plus handling per unit. */
export function costStrategy(
  costs: Costs,
  opts: { maxCandidates?: number; maxDcCandidates?: number; maxDistanceKm?: number; name?: string } = {},
): SourcingStrategy {
  return {
    name: opts.name ?? 'cost',
    maxCandidates: opts.maxCandidates ?? 16,
    maxDcCandidates: opts.maxDcCandidates ?? 3,
    maxDistanceKm: opts.maxDistanceKm ?? 25_000,
    eligible(f, order) {
      if (f.enabled === false) return 'facility disabled';
      if (order.delivery === 'pickup' && f.id === order.pickupFacility) return f.pickup ? null : 'facility does not offer pickup';
      if (f.type === 'store' && !f.shipFromStore) return 'store does not ship from store';
      return null;
    },
    // eligibility depends on the order only through its pickup store
    eligibilityKey: (order) => (order.delivery === 'pickup' ? `pickup:${order.pickupFacility}` : 'ship'),
    // facility priority breaks ties between otherwise equal facilities (0 first)
    shipmentCost: (f, km, order) =>
      order.delivery === 'pickup' && f.id === order.pickupFacility ? f.priority * 1e-6 : costs.perShipment + costs.perKm * km + f.priority * 1e-6,
    unitCost: (f) => costs.perUnit[f.type],
  };
}

/** Rank for constrained inventory: priority, then due date, then arrival (one rule with the planning store's rank key). */
export { compareRank } from '../../shared/rank.js';
