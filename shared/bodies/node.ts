/** Request bodies of a node's associate API (node/api/app.ts): DO steps, sales, cycle counts, receipts. */
import { z } from 'zod';
import { Sku } from '../ids.js';

const Qty = z.number().int('must be a whole number').positive('must be positive');

export const SaleBody = z.object({ sku: Sku, qty: Qty });
export const AdjustmentBody = z.object({
  sku: Sku,
  onHand: z.number().int('must be a whole number').nonnegative('must not be negative'),
  reason: z.string().min(1).max(200),
});
export const ReceiptBody = z.object({
  inboundId: z.string().min(1).max(100),
  lines: z.array(z.object({ sku: Sku, qty: z.number().int().nonnegative('must not be negative') })).min(1),
});
export type ReceiptLine = z.infer<typeof ReceiptBody>['lines'][number];

/** The body of every DO step (`POST /api/v1/dos/{id}/{step}`); each step reads the fields it needs, an empty body is `{}`. */
export const StepBody = z.object({
  lines: z
    .array(
      z.object({
        line: z.number().int().positive(),
        qty: z.number().int('must be a whole number').nonnegative('must not be negative'),
        reason: z.string().max(200).optional(),
      }),
    )
    .optional(),
  packages: z.array(z.object({ lines: z.array(z.number().int().positive()).min(1) })).optional(),
  carrier: z.string().min(1).max(100).optional(),
  tracking: z.string().min(1).max(100).optional(),
  reason: z.string().min(1).max(500).optional(),
  customerName: z.string().min(1).max(200).optional(),
});
export type StepBody = z.infer<typeof StepBody>;

export const TasksQuery = z.object({ all: z.string().optional().describe('"true": the DOs done too') });
