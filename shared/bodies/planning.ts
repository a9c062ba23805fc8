/**
 * Request bodies of the planning API: purchase orders, shipments, model stock and forecasts (JSON
 * or CSV rows), the replenishment run, and availability checks (ATP, with checkout reservations).
 */
import { z } from 'zod';
import { Ident, Sku } from '../ids.js';

/** How long a checkout reservation may hold units. */
export const RESERVATION_LIMITS = { minTtlSeconds: 1, maxTtlSeconds: 3600 };

const Qty = z.number().int('must be a whole number').positive('must be positive');
const Lines = z
  .array(z.object({ sku: Sku, qty: Qty }))
  .min(1)
  .max(5_000);

function startOfToday(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}
const Future = z.iso.datetime({ offset: true }).refine((d) => Date.parse(d) >= startOfToday(), 'must not be in the past');

export const PoBody = z.object({ id: Ident, facility: Ident, supplier: z.string().min(1).max(200), expectedAt: Future, lines: Lines });
export type PoBody = z.infer<typeof PoBody>;
export const ShipmentBody = z.object({ id: Ident, from: z.string().min(1).max(200), to: Ident, expectedAt: Future, lines: Lines });
export type ShipmentBody = z.infer<typeof ShipmentBody>;

export const ModelStockRow = z
  .object({
    facility: Ident,
    sku: Sku,
    min: z.number().int().nonnegative().optional(),
    max: z.number().int().positive().optional(),
    daysOfSupply: z.number().positive().max(365).optional(),
  })
  .refine((r) => (r.min !== undefined && r.max !== undefined) || r.daysOfSupply !== undefined, 'give "min" and "max", or "daysOfSupply"')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, '"min" must not exceed "max"');
export type ModelStockRow = z.infer<typeof ModelStockRow>;
/** `PUT`/`POST /api/v1/model-stock`: rows as a JSON array, or the same columns as CSV. */
export const ModelStockBody = z.array(ModelStockRow).min(1).max(100_000);
export const ModelStockQuery = z.object({ facility: Ident.optional(), sku: Sku.optional() });

export const ForecastRow = z.object({
  facility: Ident,
  sku: Sku,
  date: z.iso.date(),
  qty: z.number().nonnegative('must not be negative'),
  period: z.enum(['day', 'week']).default('day'),
});
export type ForecastRow = z.infer<typeof ForecastRow>;
/** `POST /api/v1/forecasts`: rows as a JSON array, or the same columns as CSV. */
export const ForecastsBody = z.array(ForecastRow).min(1).max(500_000);

/** `POST /api/v1/replenishment/run`: an empty body, `{}` or `{"dryRun": true}` (plan only, nothing written). */
export const RunBody = z.strictObject({ dryRun: z.boolean().default(false) });

export const CartBody = z
  .object({
    lines: z
      .array(z.object({ sku: Sku, qty: z.number().int('qty must be a whole number').positive('qty must be positive').max(10_000) }))
      .min(1, 'a cart needs at least one line')
      .max(100, 'at most 100 lines'),
    shipTo: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
    pickupFacility: Ident.optional(),
    /** facilities per line in the answer */
    limit: z.number().int().min(1).max(20).default(5),
    reserve: z.object({ ttlSeconds: z.number().int().min(RESERVATION_LIMITS.minTtlSeconds).max(RESERVATION_LIMITS.maxTtlSeconds) }).optional(),
  })
  .refine((b) => !(b.shipTo && b.pickupFacility), { message: 'give "shipTo" or "pickupFacility", not both', path: ['pickupFacility'] });
export type CartBody = z.infer<typeof CartBody>;

export const AtpQuery = z.object({
  sku: Sku,
  qty: z.coerce.number().int().positive().default(1),
  lat: z.coerce.number().min(-90).max(90).optional(),
  lon: z.coerce.number().min(-180).max(180).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});
