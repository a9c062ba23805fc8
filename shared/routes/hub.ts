/**
 * Every path of the hub, once: the handlers register from this table and validate with its
 * schemas (hub/api/*), the OpenAPI document is built from it (hub/openapi.ts), and
 * test/unit/route-table.test.ts checks that the app serves exactly these routes. The contract
 * (docs/CONTRACT.md, docs/API.md) is only ever extended: add a route here, then its handler.
 */
import { z } from 'zod';
import { ErrorBody, Rows, html, notFound, routeTable, type RouteSpec } from '../openapi.js';
import { Ident, Sku } from '../ids.js';
import { BulkOrdersBody, DosQuery, OrderBody, OrdersQuery } from '../bodies/orders.js';
import { FacilityBody, FacilityPatch, InventoryBody, ItemsBody, SeriesQuery } from '../bodies/catalogue.js';
import { AtpQuery, CartBody, ForecastsBody, ModelStockBody, ModelStockQuery, PoBody, RunBody, ShipmentBody } from '../bodies/planning.js';
import { ApplyBody, RollbackBody, SimulationBody, SimulationQuery } from '../bodies/simulations.js';
import * as v from './hub-views.js';

const None = z.object({});
const id = { id: Ident };
const nodeId = { nodeId: Ident };
const supplyAnswers: RouteSpec['responses'] = {
  201: ['recorded', v.Supply],
  200: ['the same body again', v.Supply],
  409: ['another body under a used id', ErrorBody],
};
/** A sync gateway route: CouchDB's replication protocol, for one node's database. */
const couch = (method: RouteSpec['method'], path: string, summary: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({
  method,
  path,
  tag: 'sync gateway',
  summary,
  security: 'node',
  params: nodeId,
  responses: { 200: ['CouchDB answer', v.Anything], 403: ['not allowed for this node', ErrorBody] },
  ...extra,
});

export const HUB_ROUTES = routeTable({
  // ---------------------------------------------------------------- operations
  healthz: {
    method: 'get',
    path: '/healthz',
    tag: 'operations',
    summary: 'liveness',
    security: 'none',
    responses: { 200: ['alive', z.object({ ok: z.literal(true) })] },
  },
  readyz: {
    method: 'get',
    path: '/readyz',
    tag: 'operations',
    summary: 'readiness: CouchDB reachable and catch-up done',
    security: 'none',
    responses: { 200: ['ready', z.looseObject({ ok: z.boolean() })], 503: ['not ready', z.looseObject({ ok: z.boolean() })] },
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    description: 'Text exposition format. No token: scrape it on the private network (see docs/API.md).',
    security: 'none',
    responses: { 200: ['metrics', 'text/plain', { type: 'string' }] },
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    tag: 'operations',
    summary: 'this document',
    security: 'none',
    responses: { 200: ['OpenAPI 3.1', z.looseObject({})] },
  },
  docs: { method: 'get', path: '/docs', tag: 'operations', summary: 'Swagger UI for this document', security: 'none', responses: { 200: html } },
  dashboard: {
    method: 'get',
    path: '/',
    tag: 'operations',
    summary: 'the planner dashboard (asks for the planner token)',
    security: 'none',
    responses: { 200: html },
  },
  simulationPage: {
    method: 'get',
    path: '/simulation',
    tag: 'operations',
    summary: 'the what-if page (asks for the planner token)',
    security: 'none',
    responses: { 200: html },
  },
  series: {
    method: 'get',
    path: '/api/v1/series',
    tag: 'operations',
    summary: 'the last hours of this hub instance, one point a minute, kept 24 h',
    query: SeriesQuery,
    responses: {
      200: [
        'closed minutes and the one under way',
        z.object({ stepMs: z.number().int(), keep: z.number().int(), points: z.array(v.SeriesPoint), current: v.SeriesPoint }),
      ],
      400: ['a bad or unknown parameter', ErrorBody],
    },
  },

  // ---------------------------------------------------------------- facilities
  facilityCreate: {
    method: 'post',
    path: '/api/v1/facilities',
    tag: 'facilities',
    summary: 'register a facility; answers its node token once',
    body: FacilityBody,
    responses: { 201: ['registered', v.FacilityCreated], 409: ['the id exists, or servingDc is not a DC', ErrorBody] },
  },
  facilityList: {
    method: 'get',
    path: '/api/v1/facilities',
    tag: 'facilities',
    summary: 'list facilities',
    responses: { 200: ['facilities', z.array(v.Facility)] },
  },
  facilityGet: {
    method: 'get',
    path: '/api/v1/facilities/{id}',
    tag: 'facilities',
    summary: 'one facility',
    params: id,
    responses: { 200: ['the facility', v.Facility], 404: notFound('facility') },
  },
  facilityPatch: {
    method: 'patch',
    path: '/api/v1/facilities/{id}',
    tag: 'facilities',
    summary: 'change a facility (name, capacity, flags, priority, enabled, servingDc); recorded in the event stream',
    params: id,
    body: FacilityPatch,
    responses: {
      200: [
        'the facility as changed, and the changes',
        z.object({ facility: v.Facility, changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })) }),
      ],
      400: ['an unknown field or a bad value', ErrorBody],
      404: notFound('facility'),
      409: ['servingDc is not a DC', ErrorBody],
    },
  },
  nodes: {
    method: 'get',
    path: '/api/v1/nodes',
    tag: 'facilities',
    summary: 'sync health of every node',
    responses: { 200: ['per node', z.array(v.NodeHealth)] },
  },
  network: {
    method: 'get',
    path: '/api/v1/network',
    tag: 'facilities',
    summary: "every facility for the dashboard's map: position, today's load against capacity, sync health",
    responses: { 200: ['the facilities', z.object({ day: z.string(), facilities: z.array(v.NetworkFacility) })] },
  },

  // ---------------------------------------------------------------- catalogue
  items: {
    method: 'post',
    path: '/api/v1/items',
    tag: 'catalogue',
    summary: 'create or update items (bulk, ≤ 10,000)',
    body: ItemsBody,
    responses: { 201: ['written', v.Written] },
  },
  item: {
    method: 'get',
    path: '/api/v1/items/{sku}',
    tag: 'catalogue',
    summary: 'one item',
    params: { sku: Sku },
    responses: { 200: ['the item', v.Item], 404: notFound('item') },
  },
  inventoryCount: {
    method: 'post',
    path: '/api/v1/inventory',
    tag: 'catalogue',
    summary: 'load a count for a facility (sent down to its node)',
    body: InventoryBody,
    responses: { 201: ['recorded', z.object({ countId: z.string(), facility: z.string(), positions: z.number().int() })] },
  },
  inventoryView: {
    method: 'get',
    path: '/api/v1/inventory/{sku}',
    tag: 'catalogue',
    summary: 'network inventory of a SKU, per facility',
    params: { sku: Sku },
    responses: { 200: ['per facility and totals', v.InventoryView], 404: notFound('item') },
  },

  // ---------------------------------------------------------------- orders
  orderCreate: {
    method: 'post',
    path: '/api/v1/orders',
    tag: 'orders',
    summary: 'accept an order (idempotent on its id)',
    body: OrderBody,
    responses: {
      201: ['accepted', v.OrderView],
      200: ['the same body again', v.OrderView],
      409: ['another body under a used id (`order_exists`)', ErrorBody],
    },
  },
  orderBulk: {
    method: 'post',
    path: '/api/v1/orders/bulk',
    tag: 'orders',
    summary: 'accept up to 1,000 orders in one request: a result per order, each as POST /api/v1/orders would answer',
    description: 'A bad order never blocks the others: each is validated on its own and answers in its row. A bare array of orders is accepted too.',
    body: BulkOrdersBody,
    responses: {
      200: [
        'a result per order, in request order',
        z.object({
          results: z.array(v.BulkResult),
          summary: z.object({ created: z.number(), unchanged: z.number(), conflicts: z.number(), invalid: z.number(), unavailable: z.number() }),
        }),
      ],
      413: ['more than 1,000 orders (`too_many_orders`) or a body over 4 MB', ErrorBody],
    },
  },
  orderList: {
    method: 'get',
    path: '/api/v1/orders',
    tag: 'orders',
    summary: 'order summaries',
    query: OrdersQuery,
    responses: { 200: ['summaries', z.array(v.OrderSummary)] },
  },
  orderGet: {
    method: 'get',
    path: '/api/v1/orders/{id}',
    tag: 'orders',
    summary: 'an order: lines, allocations with DO states, explanation',
    params: id,
    responses: { 200: ['the order', v.OrderView], 404: notFound('order') },
  },
  orderCancel: {
    method: 'post',
    path: '/api/v1/orders/{id}/cancel',
    tag: 'orders',
    summary: 'cancel every DO not shipped',
    params: id,
    responses: {
      200: ['cancel requested', v.OrderView.extend({ cancelledDos: z.array(z.string()), alreadyShippedDos: z.array(z.string()) })],
      404: notFound('order'),
      409: ['already shipped', ErrorBody],
    },
  },
  orderRelease: {
    method: 'post',
    path: '/api/v1/orders/{id}/release',
    tag: 'orders',
    summary: 'end a hold and allocate',
    params: id,
    responses: { 200: ['released', v.OrderView], 404: notFound('order') },
  },
  dos: {
    method: 'get',
    path: '/api/v1/dos',
    tag: 'orders',
    summary: 'distribution orders as the hub sees them (at risk, by state)',
    query: DosQuery,
    responses: { 200: ['DOs', z.array(v.DoSummary)] },
  },
  events: {
    method: 'get',
    path: '/api/v1/events',
    tag: 'orders',
    summary: 'server-sent events: order, DO, allocation and supply changes',
    description:
      'Each event has an `id:`; resume with the `Last-Event-ID` header or `?since=<id>`. A `: ping` comment every 15 s. ' +
      '`?types=order,do` filters. Accepts the planner token as a bearer header or as `?token=`.',
    security: 'planner-or-query',
    query: z.object({ since: z.string().optional(), types: z.string().optional(), token: z.string().optional() }),
    headers: { 'last-event-id': z.string().optional() },
    responses: { 200: ['an event stream', 'text/event-stream', { type: 'string' }] },
  },

  // ---------------------------------------------------------------- planning
  poCreate: {
    method: 'post',
    path: '/api/v1/purchase-orders',
    tag: 'planning',
    summary: 'record a purchase order (on order at its facility)',
    body: PoBody,
    responses: supplyAnswers,
  },
  poList: {
    method: 'get',
    path: '/api/v1/purchase-orders',
    tag: 'planning',
    summary: 'every purchase order with what remains to receive (closed ones too)',
    responses: { 200: ['purchase orders', z.array(v.Supply)] },
  },
  shipmentCreate: {
    method: 'post',
    path: '/api/v1/shipments',
    tag: 'planning',
    summary: 'record an in-transit shipment',
    body: ShipmentBody,
    responses: supplyAnswers,
  },
  shipmentList: {
    method: 'get',
    path: '/api/v1/shipments',
    tag: 'planning',
    summary: 'every shipment with what remains to receive (closed ones too)',
    responses: { 200: ['shipments', z.array(v.Supply)] },
  },
  modelStockPut: {
    method: 'put',
    path: '/api/v1/model-stock',
    tag: 'planning',
    summary: 'set model stock (JSON array or CSV)',
    body: ModelStockBody,
    csv: true,
    responses: { 200: ['written', v.Written] },
  },
  modelStockPost: {
    method: 'post',
    path: '/api/v1/model-stock',
    tag: 'planning',
    summary: 'set model stock (JSON array or CSV; as PUT)',
    body: ModelStockBody,
    csv: true,
    responses: { 200: ['written', v.Written] },
  },
  modelStockGet: {
    method: 'get',
    path: '/api/v1/model-stock',
    tag: 'planning',
    summary: 'model stock with the actual position and the gap',
    query: ModelStockQuery,
    responses: { 200: ['rows', Rows] },
  },
  forecasts: {
    method: 'post',
    path: '/api/v1/forecasts',
    tag: 'planning',
    summary: 'load daily or weekly forecasts (JSON array or CSV)',
    body: ForecastsBody,
    csv: true,
    responses: { 201: ['written', z.object({ written: z.number().int(), rows: z.number().int() })] },
  },
  replenishmentRun: {
    method: 'post',
    path: '/api/v1/replenishment/run',
    tag: 'planning',
    summary: 'plan transfers and purchase suggestions; {"dryRun":true} plans only and writes nothing',
    body: RunBody,
    bodyOptional: true,
    responses: {
      200: [
        'the plan, with the stores served by their nearest DC and the rows skipped with their reasons',
        z.object({ transfers: Rows, purchaseSuggestions: Rows, servedByNearestDc: Rows, skipped: Rows, dryRun: z.boolean() }).loose(),
      ],
      400: ['an unknown field or a bad value', ErrorBody],
    },
  },
  atp: {
    method: 'get',
    path: '/api/v1/atp',
    tag: 'planning',
    summary: 'time-phased availability: quantity by date, best facilities',
    query: AtpQuery,
    responses: {
      200: ['availability', z.looseObject({ sku: z.string(), availableNow: z.number(), promiseDate: z.string().nullable(), byDate: Rows, facilities: Rows })],
    },
  },
  atpCart: {
    method: 'post',
    path: '/api/v1/atp',
    tag: 'planning',
    summary: 'a cart: per line the quantity by date and the best facilities, whether one facility can ship it all (and when)',
    description: '`reserve` holds the units for checkout (a reservation the order then names).',
    body: CartBody,
    responses: {
      200: [
        'per line, the single facility, and the reservation if asked',
        z.object({
          lines: z.array(v.SkuAtp),
          singleFacility: z.object({ facility: z.string(), km: z.number().nullable(), date: z.string() }).nullable(),
          allAvailableNow: z.boolean(),
          reservation: v.ReservationView.optional(),
        }),
      ],
      400: ['a bad cart (`invalid_body`, `duplicate_sku`, `unknown_sku`, `unknown_facility`, `no_pickup`)', ErrorBody],
    },
  },
  reservationGet: {
    method: 'get',
    path: '/api/v1/reservations/{id}',
    tag: 'planning',
    summary: 'a checkout reservation and what it holds',
    params: { id: z.string() },
    responses: { 200: ['the reservation', v.ReservationView], 404: notFound('reservation') },
  },
  reservationRelease: {
    method: 'delete',
    path: '/api/v1/reservations/{id}',
    tag: 'planning',
    summary: 'release a checkout reservation: its units go back at once (an ended one answers as it is)',
    params: { id: z.string() },
    responses: { 200: ['the reservation', v.ReservationView], 404: notFound('reservation') },
  },

  // ---------------------------------------------------------------- simulations
  simulationStart: {
    method: 'post',
    path: '/api/v1/simulations',
    tag: 'simulations',
    summary: 'start a what-if run: a window of real orders (or an instance) replayed under candidate configurations; writes nothing live',
    body: SimulationBody,
    responses: {
      202: ['started: poll its id', v.Run],
      200: ['the stored run for the same inputs', v.Run],
      413: ['more orders than a run replays', ErrorBody],
      422: ['a candidate names an unknown facility, or adds one that exists', ErrorBody],
      429: ['too many runs waiting', ErrorBody],
    },
  },
  simulationList: {
    method: 'get',
    path: '/api/v1/simulations',
    tag: 'simulations',
    summary: 'recent runs (newest first, without their results)',
    query: None,
    responses: { 200: ['runs', Rows] },
  },
  simulationGet: {
    method: 'get',
    path: '/api/v1/simulations/{id}',
    tag: 'simulations',
    summary: 'a run: progress, and when done the comparison; ?format=csv&table=summary|load|changed as CSV',
    params: { id: z.string() },
    query: SimulationQuery,
    responses: { 200: ['the run', v.Run], 404: notFound('simulation'), 409: ['CSV of a run not done', ErrorBody] },
  },
  simulationApply: {
    method: 'post',
    path: '/api/v1/simulations/{id}/apply',
    tag: 'simulations',
    summary: 'apply a candidate of a finished run as the live configuration (sourcing and facility changes), recorded on the event stream',
    params: { id: z.string() },
    body: ApplyBody,
    responses: {
      200: ['the live configuration now', v.LiveConfig],
      404: ['no such run or candidate', ErrorBody],
      409: ['not done, an instance run, a new facility, or the live configuration changed since the run', ErrorBody],
    },
  },
  sourcing: {
    method: 'get',
    path: '/api/v1/sourcing',
    tag: 'simulations',
    summary: 'the live sourcing configuration, with the one it replaced',
    responses: { 200: ['the live configuration', v.LiveConfig] },
  },
  sourcingRollback: {
    method: 'post',
    path: '/api/v1/sourcing/rollback',
    tag: 'simulations',
    summary: 'put back the configuration the last apply replaced (one call)',
    body: RollbackBody,
    responses: { 200: ['the live configuration now', v.LiveConfig], 409: ['nothing applied yet', ErrorBody] },
  },

  // ---------------------------------------------------------------- sync gateway (hub/gateway: CouchDB's protocol)
  syncRoot: {
    method: 'get',
    path: '/sync/',
    tag: 'sync gateway',
    summary: 'the server root as CouchDB answers it; `uuid` is the sync epoch, from which PouchDB builds its replication ids',
    security: 'none',
    responses: { 200: ['CouchDB welcome', z.looseObject({ couchdb: z.string(), uuid: z.string() })] },
  },
  syncInfo: couch('get', '/sync/{nodeId}', 'database info of the node database'),
  syncChanges: couch(
    'get',
    '/sync/{nodeId}/_changes',
    "changes feed (normal, longpoll, continuous; never `filter`): only the documents the hub writes, never the node's own uploads",
  ),
  syncRevsDiff: couch('post', '/sync/{nodeId}/_revs_diff', 'revisions the hub lacks'),
  syncBulkGet: couch('post', '/sync/{nodeId}/_bulk_get', 'fetch documents by revision'),
  syncBulkDocs: couch('post', '/sync/{nodeId}/_bulk_docs', 'upload node-owned documents (checked against the ownership table)', {
    description: 'A document the node may not write answers `{"error":"forbidden"}` in its row; the others are written.',
    responses: { 201: ['a row per document', v.Anything], 403: ['not allowed for this node', ErrorBody] },
  }),
  syncAllDocs: couch('get', '/sync/{nodeId}/_all_docs', 'all documents'),
  syncAllDocsKeys: couch('post', '/sync/{nodeId}/_all_docs', 'all documents by keys'),
  syncLocalGet: couch('get', '/sync/{nodeId}/_local/{id}', 'a replication checkpoint', { params: { ...nodeId, id: z.string() } }),
  syncLocalPut: couch('put', '/sync/{nodeId}/_local/{id}', 'store a replication checkpoint', { params: { ...nodeId, id: z.string() } }),
  syncDocGet: couch('get', '/sync/{nodeId}/{docId}', 'one document', { params: { ...nodeId, docId: z.string() } }),
  syncDocPut: couch('put', '/sync/{nodeId}/{docId}', 'write one node-owned document', { params: { ...nodeId, docId: z.string() } }),
});
