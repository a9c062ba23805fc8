/** The allocation instance format of `dom allocate` (docs/CONTRACT.md), and its result. */
import { z } from 'zod';

const Qty = z.number().int('must be a whole number').positive('must be positive');
export const Costs = z.object({
  perShipment: z.number().nonnegative().default(6),
  perKm: z.number().nonnegative().default(0.004),
  perUnit: z.object({ dc: z.number().nonnegative().default(0.5), store: z.number().nonnegative().default(1.5) }).default({ dc: 0.5, store: 1.5 }),
});
export type Costs = z.infer<typeof Costs>;
export const DEFAULT_COSTS: Costs = { perShipment: 6, perKm: 0.004, perUnit: { dc: 0.5, store: 1.5 } };

export const InstanceFacility = z.object({
  id: z.string().min(1),
  type: z.enum(['store', 'dc']),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  capacity: z.number().int().nonnegative().default(1_000_000),
  priority: z.number().int().nonnegative().default(0),
  shipFromStore: z.boolean().default(true),
  pickup: z.boolean().default(false),
});
export const InstanceOrderLine = z.object({
  line: z.number().int().positive(),
  sku: z.string().min(1),
  qty: Qty,
  allowSubstitutes: z.boolean().default(false),
});
export const InstanceOrder = z
  .object({
    id: z.string().min(1),
    priority: z.number().int().min(0).default(5),
    createdAt: z.string().default('1970-01-01T00:00:00Z'),
    dueDate: z.string().optional(),
    shipTo: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
    delivery: z.enum(['ship', 'pickup']).default('ship'),
    pickupFacility: z.string().optional(),
    lines: z.array(InstanceOrderLine).min(1),
  })
  .refine((o) => new Set(o.lines.map((l) => l.line)).size === o.lines.length, { message: 'duplicate line numbers', path: ['lines'] })
  .refine((o) => (o.delivery === 'pickup' ? !!o.pickupFacility : !!o.shipTo), { message: 'a ship order needs shipTo; a pickup order needs pickupFacility' });

export const Instance = z.object({
  facilities: z.array(InstanceFacility),
  inventory: z.array(
    z.object({ facility: z.string(), sku: z.string(), onHand: z.number().int().nonnegative(), safetyStock: z.number().int().nonnegative().default(0) }),
  ),
  items: z.array(z.object({ sku: z.string(), substitutes: z.array(z.string()).default([]) })).default([]),
  orders: z.array(InstanceOrder),
  costs: Costs.default(DEFAULT_COSTS),
});
export type Instance = z.infer<typeof Instance>;
export type InstanceOrder = z.infer<typeof InstanceOrder>;

export interface Assignment {
  order: string;
  line: number;
  facility: string;
  sku: string;
  qty: number;
}
export interface AllocationResult {
  assignments: Assignment[];
  unfilled: { order: string; line: number; qty: number }[];
  totals: { cost: number; shipments: number; unitsFilled: number; unitsUnfilled: number };
}
