/**
 * What the hub answers, as the OpenAPI document shows it (shared/routes/hub.ts). These schemas
 * document; they validate nothing (the handlers build the answers).
 */
import { z } from 'zod';
import { ErrorBody, Rows } from '../openapi.js';
import { FacilityBody, ItemBody } from '../schemas.js';

export const Facility = FacilityBody.extend({ createdAt: z.string() });
export const FacilityCreated = z.object({ facility: Facility, token: z.string().describe('the node sync token, shown once') });
export const Allocation = z.object({ facility: z.string(), sku: z.string(), qty: z.number().int(), doId: z.string(), doStatus: z.string() });
export const Explanation = z
  .object({
    attempt: z.number().int(),
    at: z.string(),
    strategy: z.string().optional(),
    candidates: z.array(z.object({ facility: z.string(), km: z.number(), units: z.number().optional(), excluded: z.string().optional() })).optional(),
    chosen: z.array(z.object({ facility: z.string(), units: z.number(), km: z.number(), cost: z.number() })).optional(),
    substitutions: z.array(z.string()).optional(),
    cost: z.number().optional(),
    unfilled: z.array(z.object({ line: z.number().int(), qty: z.number().int() })).optional(),
  })
  .loose();
export const OrderView = z.object({
  id: z.string(),
  status: z.string(),
  channel: z.string(),
  priority: z.number().int(),
  delivery: z.enum(['ship', 'pickup']),
  createdAt: z.string(),
  updatedAt: z.string(),
  lines: z.array(
    z.object({
      line: z.number().int(),
      sku: z.string(),
      qty: z.number().int(),
      status: z.string(),
      delivered: z.number().int(),
      unallocated: z.number().int(),
      promiseDate: z.string().nullable().optional(),
      allocations: z.array(Allocation),
    }),
  ),
  explanation: Explanation.nullable(),
  explanations: z.array(Explanation),
});
export const OrderSummary = OrderView.pick({ id: true, status: true, channel: true, priority: true, delivery: true, createdAt: true, updatedAt: true });
export const Item = ItemBody.extend({ updatedAt: z.string().optional() }).loose();
export const Positions = {
  onHand: z.number(),
  reserved: z.number(),
  reservedForCheckout: z.number().describe('units held by checkout reservations'),
  available: z.number(),
  inTransit: z.number(),
  onOrder: z.number(),
};
export const InventoryView = z.object({
  sku: z.string(),
  facilities: z.array(
    z.object({
      facility: z.string(),
      ...Positions,
      safetyStock: z.number(),
      modelStock: z.object({ min: z.number(), max: z.number() }).nullable(),
      asOf: z.string().nullable(),
    }),
  ),
  totals: z.object(Positions),
});
export const NodeHealth = z.object({
  id: z.string(),
  db: z.string(),
  online: z.boolean(),
  lastSeen: z.string().nullable(),
  lastCheckpoint: z.string().nullable(),
  lastUploadAt: z.string().nullable(),
  docsUploaded: z.number().int(),
  pending: z.number().int().nullable().describe('changes in the node database it has not pulled yet'),
  docCount: z.number().int().nullable(),
  openConnections: z.number().int(),
  errorCount: z.number().int(),
  errors: z.array(z.object({ at: z.string(), status: z.number().int(), code: z.string(), message: z.string() })),
});
export const DoSummary = z.object({
  doId: z.string(),
  orderId: z.string(),
  facility: z.string(),
  kind: z.string(),
  state: z.string(),
  atRisk: z.boolean(),
  lines: z.array(z.object({ line: z.number().int(), sku: z.string(), qty: z.number().int() })),
  updatedAt: z.string(),
});
export const Supply = z
  .object({
    id: z.string(),
    type: z.enum(['po', 'asn']),
    facility: z.string(),
    expectedAt: z.string(),
    lines: z.array(z.object({ sku: z.string(), qty: z.number().int() })),
    remaining: z.array(z.object({ sku: z.string(), qty: z.number().int() })),
    closedAt: z.string().optional().describe('when every line was received (then remaining is empty)'),
  })
  .loose();
export const Written = z.object({ written: z.number().int() });
export const SeriesPoint = z.object({
  at: z.string().describe('start of the minute'),
  received: z.number().int(),
  planned: z.number().int(),
  allocated: z.number().int(),
  fillRate: z.number().nullable().describe('share of the planned orders filled in full'),
  backordersOpen: z.number().int(),
  dos: z.record(z.string(), z.number().int()).describe('open DOs by state'),
  nodesOnline: z.number().int().nullable(),
  nodes: z.number().int().nullable(),
  syncDownP99Ms: z.number().nullable().describe('DO created at the hub → fetched by the node'),
  syncUpP99Ms: z.number().nullable().describe('status event written at the node → applied at the hub'),
  syncDownSamples: z.number().int(),
  syncUpSamples: z.number().int(),
});
export const NetworkFacility = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['store', 'dc']),
  lat: z.number(),
  lon: z.number(),
  capacity: z.number(),
  enabled: z.boolean(),
  shipFromStore: z.boolean(),
  pickup: z.boolean(),
  loadToday: z.number().describe('units released to the facility today, against its daily capacity'),
  sync: z.enum(['online', 'stale', 'offline', 'none']),
  lastSeen: z.string().nullable(),
});
export const Anything = z.unknown();
export const BulkResult = z.object({
  index: z.number().int(),
  id: z.string().optional(),
  status: z.number().int().describe('201 created, 200 the same body again, 409 another body under a used id, 4xx invalid, 503 not stored (retry it)'),
  order: OrderView.optional(),
  error: ErrorBody.shape.error.optional(),
});
export const SkuAtp = z.looseObject({
  sku: z.string(),
  qty: z.number(),
  availableNow: z.number(),
  promiseDate: z.string().nullable(),
  byDate: Rows,
  facilities: Rows,
});
export const ReservationView = z.object({
  id: z.string(),
  status: z.enum(['held', 'consumed', 'released', 'expired']),
  expiresAt: z.string(),
  createdAt: z.string(),
  orderId: z.string().optional(),
  endedAt: z.string().optional(),
  lines: z.array(z.object({ sku: z.string(), qty: z.number(), reserved: z.number(), holds: z.array(z.object({ facility: z.string(), qty: z.number() })) })),
});
export const Run = z.looseObject({
  id: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  progress: z.object({ done: z.number().int(), total: z.number().int(), phase: z.string() }),
  configVersion: z.number().int(),
  result: z.looseObject({}).optional().describe('when done: the comparison (docs/API.md#simulations)'),
  error: ErrorBody.shape.error.optional(),
});
export const LiveConfig = z.looseObject({
  version: z.number().int(),
  sourcing: z.record(z.string(), z.looseObject({})),
  appliedAt: z.string().nullable(),
  by: z.string().nullable(),
  source: z.looseObject({}),
  facilities: Rows,
  previous: z.looseObject({}).nullable(),
});
