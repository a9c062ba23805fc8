/**
 * A what-if scenario: the orders to replay (a window of the hub's history, or an uploaded
 * allocation instance), and the candidate configurations to replay them under beside the current
 * one. The request body is validated here (POST /api/v1/simulations, `dom simulate`); the replay
 * itself works on the plain data of `Scenario` (replay.ts).
 */
import { z } from 'zod';
import { StrategyConfig } from '../config.js';
import { Ident, Sku } from '../../shared/ids.js';
import { Instance } from '../../shared/instance.js';
import type { SourcingFacility, SourcingOrder } from '../allocator/strategy.js';
import type { Costs } from '../../shared/instance.js';

/** Bounds of one run: beyond them a request is refused (413) or a run stops (failed, `time_limit`). */
export const LIMITS = { maxOrders: 50_000, maxCandidates: 8, maxNewFacilities: 50, maxWindowDays: 31, maxRunMs: 120_000, maxChangedListed: 200 };

/** The channels and deliveries a strategy may be set for (hub/config.ts `--sourcing`). */
export const SOURCING_KEYS = ['default', 'web', 'mobile', 'store', 'call_centre', 'ship', 'pickup'] as const;
export const SourcingSettings = z.partialRecord(z.enum(SOURCING_KEYS), StrategyConfig);
export type SourcingSettings = z.infer<typeof SourcingSettings>;

const CostChange = z
  .object({
    perShipment: z.number().nonnegative(),
    perKm: z.number().nonnegative(),
    perUnit: z.object({ dc: z.number().nonnegative(), store: z.number().nonnegative() }),
  })
  .partial();

export const FacilityChange = z.object({
  id: Ident,
  capacity: z.number().int().nonnegative().optional(),
  enabled: z.boolean().optional(),
  shipFromStore: z.boolean().optional(),
  pickup: z.boolean().optional(),
  priority: z.number().int().min(0).max(1000).optional(),
});
export type FacilityChange = z.infer<typeof FacilityChange>;

export const NewFacility = z.object({
  id: Ident,
  type: z.enum(['store', 'dc']),
  name: z.string().min(1).max(200).optional(),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  capacity: z.number().int().nonnegative(),
  shipFromStore: z.boolean().default(true),
  pickup: z.boolean().default(false),
  priority: z.number().int().min(0).max(1000).default(0),
  stock: z
    .array(z.object({ sku: Sku, onHand: z.number().int().nonnegative(), safetyStock: z.number().int().nonnegative().default(0) }))
    .max(100_000)
    .default([]),
});
export type NewFacility = z.infer<typeof NewFacility>;

export const Candidate = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9 _.()+-]+$/, 'letters, digits, spaces and "_.()+-"'),
  /** Per channel or delivery: merged field by field over the current configuration's. */
  sourcing: SourcingSettings.optional(),
  /** Cost parameters for every strategy (on top of `sourcing`). */
  costs: CostChange.optional(),
  facilities: z.array(FacilityChange).max(10_000).optional(),
  newFacilities: z.array(NewFacility).max(LIMITS.maxNewFacilities).optional(),
});
export type Candidate = z.infer<typeof Candidate>;

const IsoTime = z.iso.datetime({ offset: true });
export const WindowSource = z.object({
  from: IsoTime,
  to: IsoTime,
  /** Only orders of these channels (default: every channel). */
  channels: z
    .array(z.enum(['web', 'mobile', 'store', 'call_centre']))
    .min(1)
    .optional(),
});

export const SimulationBody = z
  .object({
    window: WindowSource.optional(),
    /** An allocation instance (docs/CONTRACT.md): its facilities, stock and costs are the current configuration. */
    instance: Instance.optional(),
    /** Instance orders in arrival order, this many a batch (default: all in one, as `dom allocate`). */
    batchSize: z.number().int().positive().max(10_000).optional(),
    candidates: z
      .array(Candidate)
      .min(1, 'give at least one candidate configuration')
      .max(LIMITS.maxCandidates, `at most ${LIMITS.maxCandidates} candidates a run`),
    /** What the comparison's `cost` is measured with (default: the current default strategy's costs). */
    measure: z
      .object({
        perShipment: z.number().nonnegative(),
        perKm: z.number().nonnegative(),
        perUnit: z.object({ dc: z.number().nonnegative(), store: z.number().nonnegative() }),
      })
      .optional(),
  })
  .refine((b) => (b.window ? 1 : 0) + (b.instance ? 1 : 0) === 1, {
    message: 'give either "window" (orders from the hub\'s history) or "instance" (an uploaded instance file)',
    path: ['window'],
  })
  .refine((b) => !b.window || b.window.from < b.window.to, { message: '"from" must be before "to"', path: ['window', 'to'] })
  .refine((b) => !b.window || Date.parse(b.window.to) - Date.parse(b.window.from) <= LIMITS.maxWindowDays * 86_400_000, {
    message: `a window spans at most ${LIMITS.maxWindowDays} days`,
    path: ['window', 'to'],
  })
  .refine((b) => new Set(b.candidates.map((c) => c.name)).size === b.candidates.length && !b.candidates.some((c) => c.name === 'current'), {
    message: 'candidate names must be unique and not "current"',
    path: ['candidates'],
  });
export type SimulationBody = z.infer<typeof SimulationBody>;

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
