/**
 * The OpenAPI 3.1 document of the hub (served at /openapi.json, browsed at /docs); the node's is
 * node/api/openapi.ts, both built with shared/openapi.ts. The request schemas are the very zod schemas the handlers validate with, so the document
 * cannot drift from what the API accepts; the handlers themselves stay plain Hono routes. Response
 * schemas are declared here (they document, they validate nothing). A body schema that its module
 * does not export yet is picked up by name as soon as it is (`exported`); until then that body is
 * documented as a free-form value pointing at docs/API.md.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { ErrorBody, Rows, exported, html, makeRoute, notFound, type OpenApiDocument, type RouteSpec, type Schema } from '../shared/openapi.js';
import { z } from 'zod';
import { FacilityBody, ItemBody } from '../shared/schemas.js';
import { FacilityPatch } from './api/facilities.js';
import { Ident, Sku } from '../shared/ids.js';
import { OrderBody } from './orders/model.js';
import * as catalogue from './api/catalogue.js';
import * as planning from './api/planning.js';
import { ApplyBody, RollbackBody, SimulationBody } from './api/simulations.js';

// ------------------------------------------------------------------ response schemas (documentation)

const Facility = FacilityBody.extend({ createdAt: z.string() });
const FacilityCreated = z.object({ facility: Facility, token: z.string().describe('the node sync token, shown once') });
const Allocation = z.object({ facility: z.string(), sku: z.string(), qty: z.number().int(), doId: z.string(), doStatus: z.string() });
const Explanation = z
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
const OrderView = z.object({
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
const OrderSummary = OrderView.pick({ id: true, status: true, channel: true, priority: true, delivery: true, createdAt: true, updatedAt: true });
const Item = ItemBody.extend({ updatedAt: z.string().optional() }).loose();
const Positions = {
  onHand: z.number(),
  reserved: z.number(),
  reservedForCheckout: z.number().describe('units held by checkout reservations'),
  available: z.number(),
  inTransit: z.number(),
  onOrder: z.number(),
};
const InventoryView = z.object({
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
const NodeHealth = z.object({
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
const DoSummary = z.object({
  doId: z.string(),
  orderId: z.string(),
  facility: z.string(),
  kind: z.string(),
  state: z.string(),
  atRisk: z.boolean(),
  lines: z.array(z.object({ line: z.number().int(), sku: z.string(), qty: z.number().int() })),
  updatedAt: z.string(),
});
const Supply = z
  .object({
    id: z.string(),
    type: z.enum(['po', 'asn']),
    facility: z.string(),
    expectedAt: z.string(),
    lines: z.array(z.object({ sku: z.string(), qty: z.number().int() })),
    remaining: z.array(z.object({ sku: z.string(), qty: z.number().int() })),
  })
  .loose();
const Written = z.object({ written: z.number().int() });
const SeriesPoint = z.object({
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
const NetworkFacility = z.object({
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
const Anything = z.unknown();

// ------------------------------------------------------------------ the hub

function buildHub(): OpenApiDocument {
  const app = new OpenAPIHono();
  const r = app.openAPIRegistry;
  r.registerComponent('securitySchemes', 'planner', { type: 'http', scheme: 'bearer', description: 'the planner token (`DOM_PLANNER_TOKEN`)' });
  r.registerComponent('securitySchemes', 'plannerQuery', {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'the planner token as `?token=`, accepted on /api/v1/events only (EventSource cannot send headers)',
  });
  r.registerComponent('securitySchemes', 'node', {
    type: 'http',
    scheme: 'bearer',
    description: 'a node sync token, returned once by POST /api/v1/facilities',
  });

  const ops = makeRoute(r, 'operations');
  ops('get', '/healthz', { summary: 'liveness', security: 'none', responses: { 200: ['alive', z.object({ ok: z.literal(true) })] } });
  ops('get', '/readyz', {
    summary: 'readiness: CouchDB reachable and catch-up done',
    security: 'none',
    responses: { 200: ['ready', z.looseObject({ ok: z.boolean() })], 503: ['not ready', z.looseObject({ ok: z.boolean() })] },
  });
  ops('get', '/metrics', {
    summary: 'Prometheus metrics',
    description: 'Text exposition format. No token: scrape it on the private network (see docs/API.md).',
    security: 'none',
    responses: { 200: ['metrics', 'text/plain', { type: 'string' }] },
  });
  ops('get', '/openapi.json', { summary: 'this document', security: 'none', responses: { 200: ['OpenAPI 3.1', z.looseObject({})] } });
  ops('get', '/docs', { summary: 'Swagger UI for this document', security: 'none', responses: { 200: html } });
  ops('get', '/', { summary: 'the planner dashboard (asks for the planner token)', security: 'none', responses: { 200: html } });

  const fac = makeRoute(r, 'facilities');
  fac('post', '/api/v1/facilities', {
    summary: 'register a facility; answers its node token once',
    body: FacilityBody,
    responses: { 201: ['registered', FacilityCreated], 409: ['the id exists, or servingDc is not a DC', ErrorBody] },
  });
  fac('get', '/api/v1/facilities', { summary: 'list facilities', responses: { 200: ['facilities', z.array(Facility)] } });
  fac('get', '/api/v1/facilities/{id}', {
    summary: 'one facility',
    params: { id: Ident },
    responses: { 200: ['the facility', Facility], 404: notFound('facility') },
  });
  fac('patch', '/api/v1/facilities/{id}', {
    summary: 'change a facility (name, capacity, flags, priority, enabled, servingDc); recorded in the event stream',
    params: { id: Ident },
    body: FacilityPatch,
    responses: {
      200: [
        'the facility as changed, and the changes',
        z.object({ facility: Facility, changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })) }),
      ],
      400: ['an unknown field or a bad value', ErrorBody],
      404: notFound('facility'),
      409: ['servingDc is not a DC', ErrorBody],
    },
  });
  fac('get', '/api/v1/nodes', { summary: 'sync health of every node', responses: { 200: ['per node', z.array(NodeHealth)] } });
  fac('get', '/api/v1/network', {
    summary: "every facility for the dashboard's map: position, today's load against capacity, sync health",
    responses: { 200: ['the facilities', z.object({ day: z.string(), facilities: z.array(NetworkFacility) })] },
  });
  ops('get', '/api/v1/series', {
    summary: 'the last hours of this hub instance, one point a minute, kept 24 h',
    security: 'planner',
    query: { since: z.string().optional().describe('an ISO date-time: only the minutes after it') },
    responses: {
      200: [
        'closed minutes and the one under way',
        z.object({ stepMs: z.number().int(), keep: z.number().int(), points: z.array(SeriesPoint), current: SeriesPoint }),
      ],
      400: ['a bad or unknown parameter', ErrorBody],
    },
  });

  const cat = makeRoute(r, 'catalogue');
  cat('post', '/api/v1/items', {
    summary: 'create or update items (bulk, ≤ 10,000)',
    body: exported(catalogue, 'ItemsBody', z.array(ItemBody)),
    responses: { 201: ['written', Written] },
  });
  cat('get', '/api/v1/items/{sku}', { summary: 'one item', params: { sku: Sku }, responses: { 200: ['the item', Item], 404: notFound('item') } });
  cat('post', '/api/v1/inventory', {
    summary: 'load a count for a facility (sent down to its node)',
    body: exported(catalogue, 'InventoryBody', z.looseObject({})),
    responses: { 201: ['recorded', z.object({ countId: z.string(), facility: z.string(), positions: z.number().int() })] },
  });
  cat('get', '/api/v1/inventory/{sku}', {
    summary: 'network inventory of a SKU, per facility',
    params: { sku: Sku },
    responses: { 200: ['per facility and totals', InventoryView], 404: notFound('item') },
  });

  const ord = makeRoute(r, 'orders');
  ord('post', '/api/v1/orders', {
    summary: 'accept an order (idempotent on its id)',
    body: OrderBody,
    responses: { 201: ['accepted', OrderView], 200: ['the same body again', OrderView], 409: ['another body under a used id (`order_exists`)', ErrorBody] },
  });
  const BulkResult = z.object({
    index: z.number().int(),
    id: z.string().optional(),
    status: z.number().int().describe('201 created, 200 the same body again, 409 another body under a used id, 4xx invalid, 503 not stored (retry it)'),
    order: OrderView.optional(),
    error: ErrorBody.shape.error.optional(),
  });
  ord('post', '/api/v1/orders/bulk', {
    summary: 'accept up to 1,000 orders in one request: a result per order, each as POST /api/v1/orders would answer (a bad order never blocks the others)',
    body: z.object({ orders: z.array(OrderBody).min(1).max(1000) }),
    responses: {
      200: [
        'a result per order, in request order',
        z.object({
          results: z.array(BulkResult),
          summary: z.object({ created: z.number(), unchanged: z.number(), conflicts: z.number(), invalid: z.number(), unavailable: z.number() }),
        }),
      ],
      413: ['more than 1,000 orders (`too_many_orders`) or a body over 4 MB', ErrorBody],
    },
  });
  ord('get', '/api/v1/orders', {
    summary: 'order summaries',
    query: { status: z.string().optional(), limit: z.string().optional().describe('1–500, default 100') },
    responses: { 200: ['summaries', z.array(OrderSummary)] },
  });
  ord('get', '/api/v1/orders/{id}', {
    summary: 'an order: lines, allocations with DO states, explanation',
    params: { id: Ident },
    responses: { 200: ['the order', OrderView], 404: notFound('order') },
  });
  ord('post', '/api/v1/orders/{id}/cancel', {
    summary: 'cancel every DO not shipped',
    params: { id: Ident },
    responses: {
      200: ['cancel requested', OrderView.extend({ cancelledDos: z.array(z.string()), alreadyShippedDos: z.array(z.string()) })],
      404: notFound('order'),
      409: ['already shipped', ErrorBody],
    },
  });
  ord('post', '/api/v1/orders/{id}/release', {
    summary: 'end a hold and allocate',
    params: { id: Ident },
    responses: { 200: ['released', OrderView], 404: notFound('order') },
  });
  ord('get', '/api/v1/dos', {
    summary: 'distribution orders as the hub sees them (at risk, by state)',
    query: {
      atRisk: z.enum(['true', 'false']).optional(),
      state: z.string().optional(),
      facility: Ident.optional(),
      limit: z.string().optional().describe('1–1000, default 200'),
    },
    responses: { 200: ['DOs', z.array(DoSummary)] },
  });
  ord('get', '/api/v1/events', {
    summary: 'server-sent events: order, DO, allocation and supply changes',
    description:
      'Each event has an `id:`; resume with the `Last-Event-ID` header or `?since=<id>`. A `: ping` comment every 15 s. `?types=order,do` filters. Accepts the planner token as a bearer header or as `?token=`.',
    security: 'planner-or-query',
    query: { since: z.string().optional(), types: z.string().optional(), token: z.string().optional() },
    headers: { 'last-event-id': z.string().optional() },
    responses: { 200: ['an event stream', 'text/event-stream', { type: 'string' }] },
  });

  const plan = makeRoute(r, 'planning');
  const poBody = exported(planning, 'PoBody', z.looseObject({}));
  const shipmentBody = exported(planning, 'ShipmentBody', z.looseObject({}));
  const modelStock = exported(planning, 'ModelStockBody', z.array(exported(planning, 'ModelStockRow', z.looseObject({}))));
  const forecasts = exported(planning, 'ForecastsBody', z.array(exported(planning, 'ForecastRow', z.looseObject({}))));
  plan('post', '/api/v1/purchase-orders', {
    summary: 'record a purchase order (on order at its facility)',
    body: poBody,
    responses: { 201: ['recorded', Supply], 200: ['the same body again', Supply], 409: ['another body under a used id', ErrorBody] },
  });
  plan('get', '/api/v1/purchase-orders', { summary: 'purchase orders with what remains to receive', responses: { 200: ['purchase orders', z.array(Supply)] } });
  plan('post', '/api/v1/shipments', {
    summary: 'record an in-transit shipment',
    body: shipmentBody,
    responses: { 201: ['recorded', Supply], 200: ['the same body again', Supply], 409: ['another body under a used id', ErrorBody] },
  });
  plan('get', '/api/v1/shipments', { summary: 'shipments with what remains to receive', responses: { 200: ['shipments', z.array(Supply)] } });
  for (const m of ['put', 'post'] as const)
    plan(m, '/api/v1/model-stock', { summary: 'set model stock (JSON array or CSV)', body: modelStock, csv: true, responses: { 200: ['written', Written] } });
  plan('get', '/api/v1/model-stock', {
    summary: 'model stock with the actual position and the gap',
    query: { facility: Ident.optional(), sku: Sku.optional() },
    responses: { 200: ['rows', Rows] },
  });
  plan('post', '/api/v1/forecasts', {
    summary: 'load daily or weekly forecasts (JSON array or CSV)',
    body: forecasts,
    csv: true,
    responses: { 201: ['written', z.object({ written: z.number().int(), rows: z.number().int() })] },
  });
  plan('post', '/api/v1/replenishment/run', {
    summary: 'plan transfers and purchase suggestions; {"dryRun":true} plans only and writes nothing',
    body: z.strictObject({ dryRun: z.boolean().optional() }),
    responses: {
      200: [
        'the plan, with the stores served by their nearest DC and the rows skipped with their reasons',
        z.object({ transfers: Rows, purchaseSuggestions: Rows, servedByNearestDc: Rows, skipped: Rows, dryRun: z.boolean() }).loose(),
      ],
      400: ['an unknown field or a bad value', ErrorBody],
    },
  });
  const atpQuery = (planning as Record<string, unknown>).AtpQuery;
  plan('get', '/api/v1/atp', {
    summary: 'time-phased availability: quantity by date, best facilities',
    query:
      atpQuery instanceof z.ZodObject
        ? atpQuery
        : { sku: Sku, qty: z.string().optional(), lat: z.string().optional(), lon: z.string().optional(), limit: z.string().optional() },
    responses: {
      200: ['availability', z.looseObject({ sku: z.string(), availableNow: z.number(), promiseDate: z.string().nullable(), byDate: Rows, facilities: Rows })],
    },
  });
  const SkuAtp = z.looseObject({
    sku: z.string(),
    qty: z.number(),
    availableNow: z.number(),
    promiseDate: z.string().nullable(),
    byDate: Rows,
    facilities: Rows,
  });
  const ReservationView = z.object({
    id: z.string(),
    status: z.enum(['held', 'consumed', 'released', 'expired']),
    expiresAt: z.string(),
    createdAt: z.string(),
    orderId: z.string().optional(),
    endedAt: z.string().optional(),
    lines: z.array(z.object({ sku: z.string(), qty: z.number(), reserved: z.number(), holds: z.array(z.object({ facility: z.string(), qty: z.number() })) })),
  });
  const cartBody = exported(planning, 'CartBody', z.looseObject({}));
  plan('post', '/api/v1/atp', {
    summary:
      'a cart: per line the quantity by date and the best facilities, whether one facility can ship it all (and when); `reserve` holds the units for checkout',
    body: cartBody,
    responses: {
      200: [
        'per line, the single facility, and the reservation if asked',
        z.object({
          lines: z.array(SkuAtp),
          singleFacility: z.object({ facility: z.string(), km: z.number().nullable(), date: z.string() }).nullable(),
          allAvailableNow: z.boolean(),
          reservation: ReservationView.optional(),
        }),
      ],
      400: ['a bad cart (`invalid_body`, `duplicate_sku`, `unknown_sku`, `unknown_facility`, `no_pickup`)', ErrorBody],
    },
  });
  const res = makeRoute(r, 'planning');
  res('get', '/api/v1/reservations/{id}', {
    summary: 'a checkout reservation and what it holds',
    params: { id: z.string() },
    responses: { 200: ['the reservation', ReservationView], 404: notFound('reservation') },
  });
  res('delete', '/api/v1/reservations/{id}', {
    summary: 'release a checkout reservation: its units go back at once (an ended one answers as it is)',
    params: { id: z.string() },
    responses: { 200: ['the reservation', ReservationView], 404: notFound('reservation') },
  });

  const sim = makeRoute(r, 'simulations');
  const Run = z.looseObject({
    id: z.string(),
    status: z.enum(['queued', 'running', 'done', 'failed']),
    progress: z.object({ done: z.number().int(), total: z.number().int(), phase: z.string() }),
    configVersion: z.number().int(),
    result: z.looseObject({}).optional().describe('when done: the comparison (docs/API.md#simulations)'),
    error: ErrorBody.shape.error.optional(),
  });
  const LiveConfig = z.looseObject({
    version: z.number().int(),
    sourcing: z.record(z.string(), z.looseObject({})),
    appliedAt: z.string().nullable(),
    by: z.string().nullable(),
    source: z.looseObject({}),
    facilities: Rows,
    previous: z.looseObject({}).nullable(),
  });
  sim('post', '/api/v1/simulations', {
    summary: 'start a what-if run: a window of real orders (or an instance) replayed under candidate configurations; writes nothing live',
    body: SimulationBody,
    responses: {
      202: ['started: poll its id', Run],
      200: ['the stored run for the same inputs', Run],
      413: ['more orders than a run replays', ErrorBody],
      422: ['a candidate names an unknown facility, or adds one that exists', ErrorBody],
      429: ['too many runs waiting', ErrorBody],
    },
  });
  sim('get', '/api/v1/simulations', { summary: 'recent runs (newest first, without their results)', responses: { 200: ['runs', Rows] } });
  sim('get', '/api/v1/simulations/{id}', {
    summary: 'a run: progress, and when done the comparison; ?format=csv&table=summary|load|changed as CSV',
    params: { id: z.string() },
    query: { format: z.enum(['json', 'csv']).optional(), table: z.enum(['summary', 'load', 'changed']).optional() },
    responses: { 200: ['the run', Run], 404: notFound('simulation'), 409: ['CSV of a run not done', ErrorBody] },
  });
  sim('post', '/api/v1/simulations/{id}/apply', {
    summary: 'apply a candidate of a finished run as the live configuration (sourcing and facility changes), recorded on the event stream',
    params: { id: z.string() },
    body: ApplyBody,
    responses: {
      200: ['the live configuration now', LiveConfig],
      404: ['no such run or candidate', ErrorBody],
      409: ['not done, an instance run, a new facility, or the live configuration changed since the run', ErrorBody],
    },
  });
  sim('get', '/api/v1/sourcing', {
    summary: 'the live sourcing configuration, with the one it replaced',
    responses: { 200: ['the live configuration', LiveConfig] },
  });
  sim('post', '/api/v1/sourcing/rollback', {
    summary: 'put back the configuration the last apply replaced (one call)',
    body: RollbackBody,
    responses: { 200: ['the live configuration now', LiveConfig], 409: ['nothing applied yet', ErrorBody] },
  });
  ops('get', '/simulation', { summary: 'the what-if page (asks for the planner token)', security: 'none', responses: { 200: html } });

  const sync = makeRoute(r, 'sync gateway');
  const nodeId = { nodeId: Ident };
  const couch = (summary: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({
    summary,
    security: 'node',
    params: nodeId,
    responses: { 200: ['CouchDB answer', Anything], 403: ['not allowed for this node', ErrorBody] },
    ...extra,
  });
  sync('get', '/sync/{nodeId}', couch('database info of the node database'));
  sync(
    'get',
    '/sync/{nodeId}/_changes',
    couch("changes feed (normal, longpoll, continuous; never `filter`): only the documents the hub writes, never the node's own uploads"),
  );
  sync('get', '/sync/', {
    summary: 'the server root as CouchDB answers it; `uuid` is the sync epoch, from which PouchDB builds its replication ids',
    security: 'none',
    responses: { 200: ['CouchDB welcome', z.looseObject({ couchdb: z.string(), uuid: z.string() })] },
  });
  sync('post', '/sync/{nodeId}/_revs_diff', couch('revisions the hub lacks'));
  sync('post', '/sync/{nodeId}/_bulk_get', couch('fetch documents by revision'));
  sync(
    'post',
    '/sync/{nodeId}/_bulk_docs',
    couch(
      'upload node-owned documents (checked against the ownership table); a document the node may not write answers `{"error":"forbidden"}` in its row, the others are written',
      { responses: { 201: ['a row per document', Anything], 403: ['not allowed for this node', ErrorBody] } },
    ),
  );
  sync('get', '/sync/{nodeId}/_all_docs', couch('all documents'));
  sync('post', '/sync/{nodeId}/_all_docs', couch('all documents by keys'));
  sync('get', '/sync/{nodeId}/_local/{id}', couch('a replication checkpoint', { params: { ...nodeId, id: z.string() } }));
  sync('put', '/sync/{nodeId}/_local/{id}', couch('store a replication checkpoint', { params: { ...nodeId, id: z.string() } }));
  sync('get', '/sync/{nodeId}/{docId}', couch('one document', { params: { ...nodeId, docId: z.string() } }));
  sync('put', '/sync/{nodeId}/{docId}', couch('write one node-owned document', { params: { ...nodeId, docId: z.string() } }));

  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'DOM hub',
      version: '0.1.0',
      description: 'Planner API, sync gateway and operations endpoints of the DOM hub. Errors are `{"error":{"code","message","details"?}}`.',
    },
    tags: [
      { name: 'orders', description: 'customer orders and their fulfilment' },
      { name: 'facilities', description: 'stores, DCs and their nodes' },
      { name: 'catalogue', description: 'items and inventory' },
      { name: 'planning', description: 'purchase orders, shipments, model stock, forecasts, replenishment, ATP' },
      { name: 'simulations', description: 'what-if: replay real orders under candidate sourcing configurations, apply one, roll back' },
      { name: 'sync gateway', description: 'the CouchDB replication endpoints a node uses' },
      { name: 'operations', description: 'health, metrics, documentation, dashboard' },
    ],
  });
}

let hubDoc: OpenApiDocument | undefined;
/** The hub's document; built once per process (it does not depend on the hub's state). */
export function hubOpenApiDocument(): OpenApiDocument {
  hubDoc ??= buildHub();
  return hubDoc;
}

export type { OpenApiDocument } from '../shared/openapi.js';
