/** Request bodies of the facility and catalogue API: facilities, items, inventory counts. */
import { z } from 'zod';
import { Ident, Sku } from '../ids.js';
import { ItemBody } from '../schemas.js';

export { FacilityBody, ItemBody } from '../schemas.js';

/** What a planner may change after registration (the id, type and place stay). */
export const FacilityPatch = z
  .object({
    name: z.string().min(1).max(200),
    capacity: z.number().int().nonnegative(),
    shipFromStore: z.boolean(),
    pickup: z.boolean(),
    priority: z.number().int().min(0).max(1000),
    enabled: z.boolean(),
    /** a DC's id, or null to take the store off its serving DC */
    servingDc: Ident.nullable(),
  })
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');
export type FacilityPatch = z.infer<typeof FacilityPatch>;

export const ItemsBody = z.array(ItemBody).min(1).max(10_000);
export const InventoryBody = z.object({
  facility: Ident,
  positions: z
    .array(
      z.object({
        sku: Sku,
        onHand: z.number().int('must be a whole number').nonnegative('must not be negative'),
        safetyStock: z.number().int().nonnegative().default(0),
      }),
    )
    .min(1)
    .max(50_000),
});
export type InventoryBody = z.infer<typeof InventoryBody>;

export const SeriesQuery = z.object({
  since: z.iso.datetime({ offset: true, message: '"since" must be an ISO date-time such as 2026-01-01T12:00:00Z' }).optional(),
});
