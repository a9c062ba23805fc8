/**
 * Request bodies of the what-if API: POST /api/v1/simulations (a window of the hub's history or an
 * uploaded instance, and the candidate configurations), applying a candidate, rolling back. The
 * sourcing settings a candidate carries are the hub's `--sourcing` settings (hub/config.ts).
 */
import { z } from 'zod';
import { Ident, Sku } from '../ids.js';
import { Instance } from '../instance.js';

/** One sourcing strategy's settings (hub/config.ts `--sourcing`, and a candidate's `sourcing`). */
export const StrategyConfig = z.object({
  maxCandidates: z.number().int().min(1).max(200).optional(),
  maxDistanceKm: z.number().positive().optional(),
  perShipment: z.number().nonnegative().optional(),
  perKm: z.number().nonnegative().optional(),
  perUnit: z.object({ dc: z.number().nonnegative(), store: z.number().nonnegative() }).optional(),
});

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

export const ApplyBody = z.object({
  candidate: z.string().min(1).max(64),
  /** Who applies it (the planner token is shared): recorded on the event stream. */
  by: z.string().min(1).max(100),
});
export const RollbackBody = z.object({ by: z.string().min(1).max(100) });
export const SimulationQuery = z.object({
  format: z.enum(['json', 'csv']).default('json'),
  table: z.enum(['summary', 'load', 'changed']).default('summary'),
});
