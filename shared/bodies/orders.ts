/** Request bodies and queries of the order API (POST /api/v1/orders, /orders/bulk, GET /orders, GET /dos). */
import { z } from 'zod';
import { Ident, Sku } from '../ids.js';
import { DO_STATE_NAMES, ORDER_STATUS_NAMES } from '../states.js';

export const ORDER_LIMITS = { maxLines: 100, maxQtyPerLine: 10_000 };
/** Orders per `POST /api/v1/orders/bulk`. */
export const BULK_MAX = 1000;

export const Channel = z.enum(['web', 'mobile', 'store', 'call_centre']);
export const OrderBody = z
  .object({
    id: Ident,
    channel: Channel.default('web'),
    priority: z.number().int().min(1).max(9).default(5),
    createdAt: z.iso.datetime({ offset: true }).optional(),
    dueDate: z.iso.datetime({ offset: true }).optional(),
    delivery: z.enum(['ship', 'pickup']).default('ship'),
    shipTo: z
      .object({
        lat: z.number().min(-90).max(90),
        lon: z.number().min(-180).max(180),
        name: z.string().max(200).optional(),
        address: z.string().max(500).optional(),
      })
      .optional(),
    pickupFacility: Ident.optional(),
    customerName: z.string().min(1).max(200).optional(),
    reservation: z
      .string()
      .regex(/^rsv-[0-9a-f-]{36}$/, 'a reservation id from POST /api/v1/atp (rsv-…)')
      .optional()
      .describe('the checkout reservation whose units this order takes'),
    hold: z.object({ reason: z.enum(['fraud_review', 'future_ship_date', 'manual']), until: z.iso.datetime({ offset: true }).optional() }).optional(),
    lines: z
      .array(
        z.object({
          line: z.number().int().positive(),
          sku: Sku,
          qty: z
            .number()
            .int('qty must be a whole number')
            .positive('qty must be positive')
            .max(ORDER_LIMITS.maxQtyPerLine, `qty over the limit of ${ORDER_LIMITS.maxQtyPerLine}`),
          allowSubstitutes: z.boolean().default(false),
        }),
      )
      .min(1, 'an order needs at least one line')
      .max(ORDER_LIMITS.maxLines, `an order may have at most ${ORDER_LIMITS.maxLines} lines`),
  })
  .refine((o) => new Set(o.lines.map((l) => l.line)).size === o.lines.length, { message: 'duplicate line numbers', path: ['lines'] })
  .refine((o) => (o.delivery === 'ship' ? !!o.shipTo : !!o.pickupFacility), {
    message: 'a ship order needs "shipTo"; a pickup order needs "pickupFacility"',
    path: ['delivery'],
  });
export type OrderBody = z.infer<typeof OrderBody>;

/**
 * `POST /api/v1/orders/bulk`: `{"orders": [...]}` (a bare array is accepted too). The handler reads
 * the list and validates each order on its own (a bad order answers in its row, never blocks the
 * others), so this schema is the envelope the document shows.
 */
export const BulkOrdersBody = z.object({ orders: z.array(OrderBody).min(1).max(BULK_MAX) });

export const OrdersQuery = z.object({
  status: z.enum(ORDER_STATUS_NAMES).optional(),
  limit: z.coerce.number().int('"limit" must be a whole number').min(1).max(500).default(100),
});

export const DosQuery = z.object({
  atRisk: z.enum(['true', 'false']).optional(),
  state: z.enum(DO_STATE_NAMES).optional(),
  facility: Ident.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
