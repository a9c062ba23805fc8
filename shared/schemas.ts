/**
 * The zod schemas of every document in docs/CONTRACT.md's table, and of the API bodies that create them.
 * Documents are validated at the edges: HTTP bodies, documents a node uploads, CLI input files.
 */
import { z } from 'zod';
import { Ident, Sku } from './ids.js';

const Qty = z.number().int('must be a whole number').positive('must be positive');
const NonNegQty = z.number().int('must be a whole number').nonnegative('must not be negative');
const IsoDate = z.iso.datetime({ offset: true });
const Lat = z.number().min(-90).max(90);
const Lon = z.number().min(-180).max(180);

/** CouchDB bookkeeping fields that may ride along on any document. */
const couch = {
  _id: z.string(),
  _rev: z.string().optional(),
  _revisions: z.object({ start: z.number(), ids: z.array(z.string()) }).optional(),
};

// ---------------------------------------------------------------- planning (dom database)

export const FacilityType = z.enum(['store', 'dc']);
export const FacilityBody = z.object({
  id: Ident,
  type: FacilityType,
  name: z.string().min(1).max(200),
  lat: Lat,
  lon: Lon,
  capacity: NonNegQty.default(1000),
  shipFromStore: z.boolean().default(true),
  pickup: z.boolean().default(false),
  priority: z.number().int().min(0).max(1000).default(0),
  enabled: z.boolean().default(true),
  /** The DC that replenishes this store, when there is one. */
  servingDc: Ident.optional(),
});
export type Facility = z.infer<typeof FacilityBody>;
export const FacilityDoc = FacilityBody.extend({ ...couch, createdAt: IsoDate });
export type FacilityDoc = z.infer<typeof FacilityDoc>;

export const ItemBody = z.object({
  sku: Sku,
  name: z.string().min(1).max(200),
  barcode: z.string().max(64).optional(),
  substitutes: z.array(Sku).max(20).default([]),
});
export type Item = z.infer<typeof ItemBody>;

export const NodeRegistryDoc = z.object({
  ...couch,
  type: z.literal('node'),
  id: Ident,
  db: z.string(),
  tokenHash: z.string(),
  createdAt: IsoDate,
});
export type NodeRegistryDoc = z.infer<typeof NodeRegistryDoc>;

// ---------------------------------------------------------------- hub-written, synced down

export const DoKind = z.enum(['ship', 'pickup', 'transfer']);
export const DoLine = z.object({
  line: z.number().int().positive(),
  sku: Sku,
  qty: Qty,
  /** The order line this DO line fills, and the SKU the customer ordered when a substitute is used. */
  orderLine: z.number().int().positive().optional(),
  orderedSku: Sku.optional(),
  name: z.string().optional(),
  barcode: z.string().optional(),
});
export type DoLine = z.infer<typeof DoLine>;

export const DistributionOrderDoc = z.object({
  ...couch,
  type: z.literal('do'),
  doId: z.string(),
  orderId: z.string(),
  attempt: z.number().int().nonnegative(),
  facility: Ident,
  kind: DoKind,
  lines: z.array(DoLine).min(1),
  shipTo: z.object({ lat: Lat, lon: Lon, name: z.string().optional(), address: z.string().optional() }).optional(),
  /** For pickup orders and transfers: where the goods go. */
  toFacility: Ident.optional(),
  customerName: z.string().optional(),
  promiseDate: IsoDate.optional(),
  priority: z.number().int().optional(),
  createdAt: IsoDate,
});
export type DistributionOrderDoc = z.infer<typeof DistributionOrderDoc>;

export const DoCancelDoc = z.object({
  ...couch,
  type: z.literal('docancel'),
  doId: z.string(),
  reason: z.string(),
  createdAt: IsoDate,
});
export type DoCancelDoc = z.infer<typeof DoCancelDoc>;

export const ItemDoc = ItemBody.extend({ ...couch, type: z.literal('item') });
export type ItemDoc = z.infer<typeof ItemDoc>;

export const InboundDoc = z.object({
  ...couch,
  type: z.literal('inbound'),
  inboundId: z.string(),
  kind: z.enum(['po', 'transfer', 'asn']),
  facility: Ident,
  from: z.string().optional(),
  supplier: z.string().optional(),
  expectedAt: IsoDate,
  lines: z.array(z.object({ sku: Sku, qty: Qty })).min(1),
  createdAt: IsoDate,
});
export type InboundDoc = z.infer<typeof InboundDoc>;

export const CountDoc = z.object({
  ...couch,
  type: z.literal('count'),
  countId: z.string(),
  facility: Ident,
  positions: z.array(z.object({ sku: Sku, onHand: NonNegQty, safetyStock: NonNegQty.default(0) })),
  createdAt: IsoDate,
});
export type CountDoc = z.infer<typeof CountDoc>;

// ---------------------------------------------------------------- node-written, synced up

export const InvDoc = z.object({
  ...couch,
  type: z.literal('inv'),
  sku: Sku,
  onHand: z.number().int(),
  /** Units held for open DOs at this facility. */
  reserved: NonNegQty,
  safetyStock: NonNegQty.default(0),
  /** onHand − reserved − safetyStock, never below zero. */
  available: NonNegQty,
  updatedAt: IsoDate,
});
export type InvDoc = z.infer<typeof InvDoc>;

export const EventStatus = z.enum(['ack', 'picked', 'short', 'packed', 'shipped', 'ready', 'picked_up', 'rejected', 'cancelled', 'cancel_refused', 'at_risk']);
export type EventStatus = z.infer<typeof EventStatus>;

export const EventLine = z.object({ line: z.number().int().positive(), qty: NonNegQty, reason: z.string().max(200).optional() });
export const DoEventDoc = z.object({
  ...couch,
  type: z.literal('evt'),
  doId: z.string(),
  n: z.number().int().positive(),
  status: EventStatus,
  facility: Ident,
  lines: z.array(EventLine).optional(),
  packages: z.array(z.object({ lines: z.array(z.number().int().positive()) })).optional(),
  carrier: z.string().max(100).optional(),
  tracking: z.string().max(100).optional(),
  reason: z.string().max(500).optional(),
  customerName: z.string().max(200).optional(),
  at: IsoDate,
});
export type DoEventDoc = z.infer<typeof DoEventDoc>;

export const SaleDoc = z.object({ ...couch, type: z.literal('sale'), sku: Sku, qty: Qty, at: IsoDate });
export type SaleDoc = z.infer<typeof SaleDoc>;

export const AdjustmentDoc = z.object({
  ...couch,
  type: z.literal('adj'),
  sku: Sku,
  onHand: NonNegQty,
  delta: z.number().int(),
  reason: z.string().max(200),
  /** Set when the adjustment applies a hub `count:` document. */
  countId: z.string().optional(),
  at: IsoDate,
});
export type AdjustmentDoc = z.infer<typeof AdjustmentDoc>;

export const ReceiptDoc = z.object({
  ...couch,
  type: z.literal('rcpt'),
  inboundId: z.string(),
  lines: z.array(z.object({ sku: Sku, qty: NonNegQty, expected: NonNegQty.optional() })).min(1),
  at: IsoDate,
});
export type ReceiptDoc = z.infer<typeof ReceiptDoc>;
