/**
 * A what-if scenario: the orders to replay (a window of the hub's history, or an uploaded
 * allocation instance), and the candidate configurations to replay them under beside the current
 * one. The request body (POST /api/v1/simulations, `dom simulate`) is shared/bodies/simulations.ts;
 * the replay itself works on the plain data of `Scenario` (replay.ts).
 */
import type { SourcingFacility, SourcingOrder } from '../allocator/strategy.js';
import type { Costs } from '../../shared/instance.js';

// the request body and its parts live with the other request bodies (shared/bodies/)
export {
  LIMITS,
  SOURCING_KEYS,
  SourcingSettings,
  FacilityChange,
  NewFacility,
  Candidate,
  WindowSource,
  SimulationBody,
} from '../../shared/bodies/simulations.js';
import type { SourcingSettings } from '../../shared/bodies/simulations.js';

/** A facility in a scenario: what the allocator sees, plus a display name. */
export type ScenarioFacility = SourcingFacility & { name?: string };

/** One batch of the replay, in the order the live allocator ran them. */
export interface ScenarioBatch {
  /** When it ran (live) or the arrival of its first order (instance): the day its capacity counts against. */
  at: string;
  /** By when it had read the network (live: its start, or its first DO's creation): what moved before, it saw. */
  readAt?: string;
  orders: SourcingOrder[];
}

/** What the live allocator decided for an order the first time, to check the replay against. */
export interface LiveDecision {
  picks: { line: number; facility: string; sku: string; qty: number }[];
  unfilled: { line: number; qty: number }[];
  explanation: Record<string, unknown> | null;
}

/**
 * Stock that moved in the window for reasons the replay does not decide: DOs that are not the
 * replayed decisions (re-sourcing, transfers, handovers: they use capacity too), and the ledger
 * (walk-in sales, receipts, adjustments, counts: a negative `qty` puts units back).
 */
export interface BackgroundTake {
  at: string;
  facility: string;
  sku: string;
  qty: number;
  capacity: boolean;
}

/** Everything a replay needs, as plain data; no database in sight. */
export interface Scenario {
  source: 'window' | 'instance';
  from: string | null;
  to: string | null;
  facilities: ScenarioFacility[];
  /** Available units (on hand − held − safety stock) per facility and SKU at the start. */
  stock: { facility: string; sku: string; available: number }[];
  /** Units each facility had released on the start's day before the start (capacity used). */
  usedAtStart: { facility: string; units: number }[];
  substitutes: Record<string, string[]>;
  batches: ScenarioBatch[];
  background: BackgroundTake[];
  live: Record<string, LiveDecision>;
  /** The current configuration's sourcing (the live one, or the instance's costs as `default`). */
  sourcing: SourcingSettings;
  measure: Costs;
  /** Orders of the window not replayed, by reason (held, never allocated). */
  skipped: Record<string, number>;
  notes: string[];
}
